#include "written_value.h"

#include <cerrno>
#include <climits>
#include <cstring>

namespace freezeprobe {
namespace {

// isspace() of the kernel's lib/ctype.c: \t \n \v \f \r, space, and 0xa0 (Latin-1 no-break
// space), which C's isspace() does not count. "1\xa0" freezes a v2 cgroup.
bool kernel_isspace(char c) {
    auto u = static_cast<unsigned char>(c);
    return (u >= '\t' && u <= '\r') || u == ' ' || u == 0xa0;
}

// The kernel NUL-terminates the written buffer and reads it as a C string (strstrip, strcmp,
// kstrtoint): bytes after the first NUL, e.g. stale bytes of a reused fixed-size buffer, never
// reach it.
std::string_view as_kernel_reads(std::string_view raw) {
    auto s = raw.substr(0, raw.find('\0'));
    while (!s.empty() && kernel_isspace(s.front()))
        s.remove_prefix(1);
    while (!s.empty() && kernel_isspace(s.back()))
        s.remove_suffix(1);
    return s;
}

} // namespace

std::string written_value(std::string_view raw) {
    return std::string(as_kernel_reads(raw));
}

std::optional<std::int64_t> written_pid(std::string_view raw) {
    auto s = as_kernel_reads(raw);
    bool negative = false;
    if (!s.empty() && (s.front() == '+' || s.front() == '-')) {
        negative = s.front() == '-';
        s.remove_prefix(1);
    }
    int base = 10;
    if (s.size() > 1 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s.remove_prefix(2);
    } else if (s.size() > 1 && s[0] == '0') {
        base = 8;
        s.remove_prefix(1);
    }
    if (s.empty())
        return std::nullopt;
    std::int64_t value = 0;
    for (char c : s) {
        int digit = c >= '0' && c <= '9'   ? c - '0'
                    : c >= 'a' && c <= 'f' ? c - 'a' + 10
                    : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                           : 99;
        if (digit >= base)
            return std::nullopt;
        value = value * base + digit;
        if (value > static_cast<std::int64_t>(INT_MAX) + 1)
            return std::nullopt; // kstrtoint says ERANGE
    }
    value = negative ? -value : value;
    if (value > INT_MAX || value < INT_MIN)
        return std::nullopt;
    return value;
}

std::optional<bool> freeze_request(bool v1_freezer_state, std::string_view raw) {
    auto value = written_value(raw);
    if (v1_freezer_state)
        return value == "FROZEN"   ? std::optional(true)
               : value == "THAWED" ? std::optional(false)
                                   : std::nullopt;
    auto n = written_pid(raw); // cgroup.freeze uses the same kstrtoint syntax
    if (n == 0 || n == 1)
        return *n == 1;
    return std::nullopt;
}

} // namespace freezeprobe
