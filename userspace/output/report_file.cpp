#include "report_file.h"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/stat.h>
#include <system_error>
#include <unistd.h>

namespace freezeprobe {
namespace {

// "dir/name" -> {"dir", "name"}; "name" -> {".", "name"}; "/name" -> {"/", "name"}.
std::pair<std::string, std::string> split_path(const std::string &path) {
    auto slash = path.rfind('/');
    if (slash == std::string::npos)
        return {".", path};
    return {slash == 0 ? "/" : path.substr(0, slash), path.substr(slash + 1)};
}

[[noreturn]] void fail(int err, const std::string &what, const std::string &path) {
    throw std::system_error(err, std::generic_category(), fmt::format("{} {}", what, path));
}

// A name no one else is likely to use, short enough for NAME_MAX whatever the target's length.
std::string temp_name(const std::string &dir, const std::string &base) {
    static std::atomic<unsigned> counter{0};
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return fmt::format("{}/.{}.{}.{}.{:x}.tmp", dir, base.substr(0, 180), getpid(), counter++,
                       random() & 0xffffffff);
}

void write_all(int fd, const std::string &content, const std::string &path) {
    for (std::size_t done = 0; done < content.size();) {
        auto n = ::write(fd, content.data() + done, content.size() - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail(errno, "cannot write", path);
        done += static_cast<std::size_t>(n);
    }
}

const char *file_type(mode_t mode) {
    if (S_ISDIR(mode))
        return "a directory";
    if (S_ISCHR(mode))
        return "a character device";
    if (S_ISBLK(mode))
        return "a block device";
    if (S_ISFIFO(mode))
        return "a named pipe";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

} // namespace

void write_file_atomically(const std::string &path, const std::string &content, mode_t mode) {
    auto [dir, base] = split_path(path);
    if (base.empty())
        fail(EISDIR, "cannot write", path);
    std::string temp;
    int fd = -1;
    // O_EXCL: a name someone planted meanwhile (a link, a file) makes the open fail, never follows.
    for (int attempt = 0; fd < 0 && attempt < 16; ++attempt) {
        temp = temp_name(dir, base);
        fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
        if (fd < 0 && errno != EEXIST)
            fail(errno, "cannot create a temporary file for", path);
    }
    if (fd < 0)
        fail(EEXIST, "cannot create a temporary file for", path);
    try {
        if (::fchmod(fd, mode) != 0)
            fail(errno, "cannot set the mode of", path);
        write_all(fd, content, path);
        if (::fsync(fd) != 0)
            fail(errno, "cannot sync", path);
        int rc = ::close(fd);
        fd = -1;
        if (rc != 0)
            fail(errno, "cannot write", path);
        if (::rename(temp.c_str(), path.c_str()) != 0)
            fail(errno, "cannot replace", path);
    } catch (...) {
        if (fd >= 0)
            ::close(fd);
        ::unlink(temp.c_str());
        throw;
    }
    // The rename itself lasts once the directory is on disk; a failure here loses nothing now.
    if (int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC); dfd >= 0) {
        ::fsync(dfd);
        ::close(dfd);
    }
}

std::optional<std::string> check_writable(const std::string &path) {
    auto [dir, base] = split_path(path);
    if (path.empty())
        return "the path is empty";
    if (base.empty() || base == "." || base == "..")
        return fmt::format("{} is a directory", path);
    struct stat st {};
    if (::stat(dir.c_str(), &st) != 0)
        return fmt::format("directory {}: {}", dir, std::strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return fmt::format("{} is not a directory", dir);
    // Effective ids, as the later open will use; EROFS covers a read-only mount.
    if (::faccessat(AT_FDCWD, dir.c_str(), W_OK | X_OK, AT_EACCESS) != 0)
        return fmt::format("directory {} is not writable: {}", dir, std::strerror(errno));
    const bool sticky = st.st_mode & S_ISVTX;
    const uid_t dir_owner = st.st_uid;
    if (::lstat(path.c_str(), &st) != 0)
        return errno == ENOENT ? std::nullopt
                               : std::optional(fmt::format("{}: {}", path, std::strerror(errno)));
    if (S_ISLNK(st.st_mode)) {
        struct stat target {};
        if (::stat(path.c_str(), &target) == 0 && !S_ISREG(target.st_mode))
            return fmt::format("{} is a symbolic link to {}; the report would replace the link",
                               path, file_type(target.st_mode));
    } else if (!S_ISREG(st.st_mode)) {
        return fmt::format("{} is {}", path, file_type(st.st_mode));
    }
    // rename() may not replace another user's file in a sticky directory such as /tmp (root
    // may: CAP_FOWNER, approximated here by uid 0).
    auto me = ::geteuid();
    if (sticky && me != 0 && st.st_uid != me && dir_owner != me)
        return fmt::format("{} belongs to another user in the sticky directory {}", path, dir);
    return std::nullopt;
}

} // namespace freezeprobe
