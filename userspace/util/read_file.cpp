#include "read_file.h"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace freezeprobe {

std::string read_file(const std::string &path) {
    std::string text;
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return text;
    char buf[4096];
    for (;;) {
        ssize_t n = ::read(fd, buf, sizeof buf);
        if (n > 0) {
            text.append(buf, static_cast<std::size_t>(n));
        } else if (n < 0 && errno == EINTR) {
            continue;
        } else {
            break;
        }
    }
    ::close(fd);
    return text;
}

} // namespace freezeprobe
