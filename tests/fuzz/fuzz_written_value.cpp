// The written-value parser against a model of what the kernel does with the same bytes
// (kernfs NUL-terminates the buffer; the handlers strstrip() it, then strcmp() (freezer.state) or
// kstrtoint(s, 0) (cgroup.freeze, cgroup.procs, tasks, cgroup.threads)), written from the kernel
// sources (lib/string.c, lib/kstrtox.c, lib/ctype.c), not from freezeprobe's code. A difference
// means freezeprobe would report a write differently from how the kernel took it.
#include "fuzz_checks.h"
#include "written_value.h"

#include <climits>
#include <optional>
#include <string>

using namespace freezeprobe;

namespace {

// lib/ctype.c: _S is set for \t \n \v \f \r, space and 0xa0 (Latin-1 no-break space).
bool kernel_isspace(unsigned char c) {
    return (c >= 9 && c <= 13) || c == 32 || c == 0xa0;
}

std::string kernel_strstrip(std::string_view raw) {
    std::string s(raw.substr(0, raw.find('\0')));
    std::size_t b = 0, e = s.size();
    while (b < e && kernel_isspace(s[b]))
        ++b;
    while (e > b && kernel_isspace(s[e - 1]))
        --e;
    return s.substr(b, e - b);
}

int digit_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    c = static_cast<char>(c | 0x20);
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : 99;
}

// _kstrtoull(s, 0): radix fix-up, at least one digit, overflow is ERANGE, then an optional
// newline and the end.
std::optional<unsigned long long> kernel_kstrtoull_base0(std::string_view s) {
    unsigned base = 10;
    if (!s.empty() && s[0] == '0') {
        base = s.size() > 2 && (s[1] | 0x20) == 'x' && digit_value(s[2]) < 16 ? 16 : 8;
        if (base == 16)
            s.remove_prefix(2);
    }
    unsigned long long v = 0;
    std::size_t i = 0;
    for (; i < s.size(); ++i) {
        int d = digit_value(s[i]);
        if (d >= static_cast<int>(base))
            break;
        if (v > (ULLONG_MAX - d) / base)
            return std::nullopt;
        v = v * base + d;
    }
    if (i == 0)
        return std::nullopt;
    if (i < s.size() && s[i] == '\n')
        ++i;
    if (i != s.size())
        return std::nullopt;
    return v;
}

std::optional<long long> kernel_kstrtoint_base0(std::string_view s) {
    long long v;
    if (!s.empty() && s[0] == '-') {
        auto u = kernel_kstrtoull_base0(s.substr(1));
        if (!u || *u > static_cast<unsigned long long>(LLONG_MAX) + 1)
            return std::nullopt;
        v = static_cast<long long>(0 - *u);
    } else {
        if (!s.empty() && s[0] == '+')
            s.remove_prefix(1);
        auto u = kernel_kstrtoull_base0(s);
        if (!u || *u > static_cast<unsigned long long>(LLONG_MAX))
            return std::nullopt;
        v = static_cast<long long>(*u);
    }
    if (v < INT_MIN || v > INT_MAX)
        return std::nullopt;
    return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view raw(reinterpret_cast<const char *>(data), size);
    auto stripped = kernel_strstrip(raw);

    FUZZ_CHECK(written_value(raw) == stripped);

    auto pid = written_pid(raw);
    auto expected = kernel_kstrtoint_base0(stripped);
    FUZZ_CHECK(pid.has_value() == expected.has_value());
    FUZZ_CHECK(!pid || *pid == *expected);

    auto v1 = freeze_request(true, raw);
    FUZZ_CHECK(v1 == (stripped == "FROZEN"   ? std::optional(true)
                      : stripped == "THAWED" ? std::optional(false)
                                             : std::nullopt));
    auto v2 = freeze_request(false, raw);
    FUZZ_CHECK(v2 == (expected == 1   ? std::optional(true)
                      : expected == 0 ? std::optional(false)
                                      : std::nullopt));
    return 0;
}
