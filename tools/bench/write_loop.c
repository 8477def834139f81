// write_loop: N 1-byte writes to /dev/null; prints the elapsed nanoseconds on stdout.
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
    long n = argc > 1 ? atol(argv[1]) : 2000000;
    int fd = open("/dev/null", O_WRONLY);
    if (fd < 0) {
        perror("open /dev/null");
        return 1;
    }
    char c = 'x';
    long long t0 = now_ns();
    for (long i = 0; i < n; i++) {
        if (write(fd, &c, 1) != 1) {
            perror("write");
            return 1;
        }
    }
    printf("%lld\n", now_ns() - t0);
    return 0;
}
