#include "utf8.h"

namespace freezeprobe {

Utf8Char decode_utf8(std::string_view s, std::size_t i) {
    auto byte = [&](std::size_t k) { return static_cast<unsigned char>(s[k]); };
    unsigned char lead = byte(i);
    if (lead < 0x80)
        return {1, true, lead};
    std::size_t length;
    char32_t cp;
    unsigned char lo = 0x80, hi = 0xbf; // the second byte's range (Unicode table 3-7)
    if (lead >= 0xc2 && lead <= 0xdf) {
        length = 2;
        cp = lead & 0x1f;
    } else if (lead >= 0xe0 && lead <= 0xef) {
        length = 3;
        cp = lead & 0x0f;
        lo = lead == 0xe0 ? 0xa0 : 0x80; // overlong
        hi = lead == 0xed ? 0x9f : 0xbf; // surrogates
    } else if (lead >= 0xf0 && lead <= 0xf4) {
        length = 4;
        cp = lead & 0x07;
        lo = lead == 0xf0 ? 0x90 : 0x80; // overlong
        hi = lead == 0xf4 ? 0x8f : 0xbf; // above U+10FFFF
    } else {
        return {1, false, 0}; // a continuation byte, C0, C1 or F5..FF
    }
    for (std::size_t k = 1; k < length; ++k) {
        if (i + k >= s.size())
            return {k, false, 0};
        unsigned char b = byte(i + k);
        if (b < (k == 1 ? lo : 0x80) || b > (k == 1 ? hi : 0xbf))
            return {k, false, 0};
        cp = (cp << 6) | (b & 0x3f);
    }
    return {length, true, cp};
}

} // namespace freezeprobe
