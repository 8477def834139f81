// Small string helpers shared by the parsers and the text output.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace freezeprobe {

// Splits on sep; empty fields are dropped.
std::vector<std::string_view> split(std::string_view s, char sep);
// Drops leading and trailing ASCII whitespace and NUL bytes.
std::string_view trim(std::string_view s);
bool starts_with_path(std::string_view path, std::string_view prefix);
// One terminal-safe token: control bytes, backslash, quote and bytes >= 0x7f become escapes, so
// that a hostile cgroup name can neither break a line nor inject terminal sequences.
std::string escape_for_terminal(std::string_view s);

} // namespace freezeprobe
