// UTF-8 decoding for the outputs that must stay valid whatever bytes a cgroup name, a comm or a
// written value holds (JSON lines, Prometheus label values, JUnit XML).
#pragma once

#include <cstddef>
#include <string_view>

namespace freezeprobe {

// U+FFFD, what every output (JSON lines and reports, Prometheus label values, JUnit XML) puts in
// place of bytes that are not UTF-8: one per invalid sequence as decode_utf8 takes it (Unicode's
// "maximal subpart" practice, which is also nlohmann::json's), never one per byte.
inline constexpr std::string_view replacement_character = "\xef\xbf\xbd";

struct Utf8Char {
    std::size_t length = 0; // bytes taken, at least 1
    bool valid = false;
    char32_t code_point = 0; // when valid
};

// The character at s[i] (i < s.size()). Valid means RFC 3629: no overlong form, no surrogate,
// nothing above U+10FFFF. Invalid bytes are taken as Unicode's "maximal subpart": the longest
// prefix of a sequence that could still have been valid (one byte for a stray continuation or a
// bad lead byte), so that a byte that ends a truncated sequence is read again as a lead byte.
Utf8Char decode_utf8(std::string_view s, std::size_t i);

} // namespace freezeprobe
