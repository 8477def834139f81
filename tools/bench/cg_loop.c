// cg_loop: cgroup write loops for tools/bench.sh; prints the elapsed nanoseconds (or, for burst,
// the number of writes made) on stdout.
//   cg_loop migrate DIR_A DIR_B N      move a sleeping child between DIR_A and DIR_B N times
//   cg_loop freeze FILE ON OFF N       write ON then OFF to FILE (freezer.state / cgroup.freeze) N
//   times cg_loop burst DIR_A DIR_B SECONDS [RATE]  like migrate, as fast as possible for
//   SECONDS, or at RATE writes per second
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int open_file(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    int fd = open(path, O_WRONLY);
    if (fd < 0)
        perror(path);
    return fd;
}

static int put(int fd, const char *s, size_t len) {
    // write(2), not pwrite(2): freezeprobe hooks the write syscall only
    if (write(fd, s, len) != (ssize_t)len) {
        perror("write");
        return -1;
    }
    return 0;
}

// Sleeps until the time write number `done` is due at `rate` writes/s from t0 (0: no pacing).
static void pace(long long t0, long done, double rate) {
    if (rate <= 0 || done % 16)
        return;
    long long due = t0 + (long long)(done / rate * 1e9), wait = due - now_ns();
    if (wait > 0) {
        struct timespec ts = {wait / 1000000000LL, wait % 1000000000LL};
        nanosleep(&ts, NULL);
    }
}

static int migrate(const char *a, const char *b, long n, double seconds, double rate) {
    int fds[2] = {open_file(a, "cgroup.procs"), open_file(b, "cgroup.procs")};
    if (fds[0] < 0 || fds[1] < 0)
        return 1;
    pid_t child = fork();
    if (child == 0) {
        for (;;)
            pause();
    }
    char pid[32];
    int len = snprintf(pid, sizeof(pid), "%d", (int)child);
    long long t0 = now_ns(), deadline = t0 + (long long)(seconds * 1e9);
    long done = 0;
    int rc = 0;
    for (; seconds > 0 ? now_ns() < deadline : done < n; done++) {
        pace(t0, done, rate);
        if (put(fds[done & 1], pid, len) < 0) {
            rc = 1;
            break;
        }
    }
    long long elapsed = now_ns() - t0;
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    if (seconds > 0)
        printf("%ld\n", done);
    else
        printf("%lld\n", elapsed);
    return rc;
}

static int freeze(const char *file, const char *on, const char *off, long n) {
    int fd = open(file, O_WRONLY);
    if (fd < 0) {
        perror(file);
        return 1;
    }
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (put(fd, on, strlen(on)) < 0 || put(fd, off, strlen(off)) < 0)
            return 1;
    }
    printf("%lld\n", now_ns() - t0);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 5 && strcmp(argv[1], "migrate") == 0)
        return migrate(argv[2], argv[3], atol(argv[4]), 0, 0);
    if ((argc == 5 || argc == 6) && strcmp(argv[1], "burst") == 0)
        return migrate(argv[2], argv[3], 0, atof(argv[4]), argc == 6 ? atof(argv[5]) : 0);
    if (argc == 6 && strcmp(argv[1], "freeze") == 0)
        return freeze(argv[2], argv[3], argv[4], atol(argv[5]));
    fprintf(stderr,
            "usage: cg_loop migrate A B N | freeze FILE ON OFF N | burst A B SECONDS [RATE]\n");
    return 2;
}
