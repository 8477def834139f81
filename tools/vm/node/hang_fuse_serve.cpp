// The FUSE daemon of the node VM scenario (tools/vm/node/scenario.sh): serves a HangFuse whose one
// file holds every read unanswered, so that a container process reading it (through a bind mount)
// blocks the freeze of its cgroup, as in `freezeprobe demo` and the tests.
//
//   node_hang_fuse_serve DIR [CGROUP_PROCS...]
//
// Mounts under DIR and prints "mount <dir>" on stdout. With CGROUP_PROCS files, also starts a
// reader that joins them and then reads the file, and prints "reader <pid>". Then waits for a
// signal: SIGUSR1 answers the held reads (the readers continue), SIGTERM or SIGINT answers them
// and exits (the reader is killed by its PID and reaped, the file system unmounted).
#include "hang_fuse.h"

#include <csignal>
#include <cstdio>
#include <exception>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    if (argc < 2) {
        std::fprintf(stderr, "usage: %s DIR [CGROUP_PROCS...]\n", argv[0]);
        return 2;
    }
    sigset_t set;
    sigemptyset(&set);
    for (int s : {SIGUSR1, SIGTERM, SIGINT})
        sigaddset(&set, s);
    sigprocmask(SIG_BLOCK, &set, nullptr); // before the serving thread starts: it inherits it
    try {
        freezeprobe::HangFuse fuse(argv[1]);
        std::printf("mount %s\n", fuse.mount_point().c_str());
        std::fflush(stdout);
        freezeprobe::HangReader reader;
        if (argc > 2) {
            reader.start(fuse.file_path(), std::vector<std::string>(argv + 2, argv + argc));
            std::printf("reader %d\n", reader.pid());
            std::fflush(stdout);
        }
        for (;;) {
            int sig = 0;
            if (sigwait(&set, &sig) != 0)
                continue;
            fuse.answer_reads();
            if (sig != SIGUSR1)
                break;
        }
        return 0;
    } catch (const std::exception &e) {
        std::fprintf(stderr, "node_hang_fuse_serve: %s\n", e.what());
        return 1;
    }
}
