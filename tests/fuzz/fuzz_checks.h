// What every fuzzer checks its target's output against: an independent, strict UTF-8 decoder
// (RFC 3629: no overlong forms, no surrogates, nothing above U+10FFFF) and a check that aborts
// with a message, which libFuzzer reports as a crash with the input that caused it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace freezeprobe::fuzz {

#define FUZZ_CHECK(cond)                                                                           \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::fprintf(stderr, "check failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);        \
            std::abort();                                                                          \
        }                                                                                          \
    } while (0)

// The same, printing the output that failed it.
#define FUZZ_CHECK_IN(cond, text)                                                                  \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            std::string shown_(text);                                                              \
            std::fprintf(stderr, "in: \"%s\"\n", shown_.c_str());                                  \
            FUZZ_CHECK(cond);                                                                      \
        }                                                                                          \
    } while (0)

// The length of the well-formed UTF-8 sequence at s[i] (and its code point), or 0.
inline std::size_t utf8_at(std::string_view s, std::size_t i, char32_t &cp) {
    auto b = [&](std::size_t k) { return static_cast<unsigned char>(s[i + k]); };
    auto cont = [&](std::size_t k) { return i + k < s.size() && (b(k) & 0xc0) == 0x80; };
    unsigned char c = b(0);
    if (c < 0x80) {
        cp = c;
        return 1;
    }
    std::size_t n = c >= 0xc2 && c <= 0xdf   ? 2
                    : c >= 0xe0 && c <= 0xef ? 3
                    : c >= 0xf0 && c <= 0xf4 ? 4
                                             : 0;
    if (n == 0)
        return 0;
    for (std::size_t k = 1; k < n; ++k)
        if (!cont(k))
            return 0;
    cp = c & (0xff >> (n + 1));
    for (std::size_t k = 1; k < n; ++k)
        cp = (cp << 6) | (b(k) & 0x3f);
    bool overlong = (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000);
    if (overlong || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

inline bool valid_utf8(std::string_view s) {
    char32_t cp;
    for (std::size_t i = 0, n; i < s.size(); i += n)
        if ((n = utf8_at(s, i, cp)) == 0)
            return false;
    return true;
}

// XML 1.0's Char production.
inline bool xml_char(char32_t cp) {
    return cp == 0x9 || cp == 0xa || cp == 0xd || (cp >= 0x20 && cp <= 0xd7ff) ||
           (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

inline bool any_char(char32_t) {
    return true;
}

// The valid parts of s, in order (well-formed UTF-8 sequences whose character `allowed` accepts):
// what must survive any replacement of the rest. U+FFFD itself is dropped too, so that
// "replaced" and "was already U+FFFD" compare equal.
inline std::string valid_parts(std::string_view s, bool (*allowed)(char32_t) = any_char) {
    std::string out;
    char32_t cp;
    for (std::size_t i = 0, n; i < s.size(); i += n ? n : 1)
        if ((n = utf8_at(s, i, cp)) != 0 && cp != 0xfffd && allowed(cp))
            out.append(s.substr(i, n));
    return out;
}

} // namespace freezeprobe::fuzz
