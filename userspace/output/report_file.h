// Writing report files (--report, --junit, --metrics-file) so that a reader never sees half a
// file and a link planted at the path cannot redirect the write: a temporary file in the same
// directory, fsync, rename over the path.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

namespace freezeprobe {

// Replaces path with content, atomically. The file gets exactly mode (umask does not apply). A
// symbolic link at path is replaced, never followed. Throws std::system_error naming the path.
void write_file_atomically(const std::string &path, const std::string &content, mode_t mode);

// Why write_file_atomically(path, ...) would fail or surprise, checked up front (before
// anything is attached): the directory is missing or not writable, the path is a directory or
// another non-regular file (a device, a link to one: "/dev/stdout" would replace the link). nullopt
// when it looks fine. Creates and modifies nothing.
std::optional<std::string> check_writable(const std::string &path);

} // namespace freezeprobe
