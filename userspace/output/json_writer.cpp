#include "json_writer.h"

#include "utf8.h"

#include <cstring>

namespace freezeprobe {

void append_json_string(std::string &out, std::string_view s) {
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    std::size_t plain = 0; // start of the bytes not yet copied
    for (std::size_t i = 0; i < s.size();) {
        auto b = static_cast<unsigned char>(s[i]);
        if (b >= 0x20 && b != '"' && b != '\\' && b < 0x80) {
            ++i;
            continue;
        }
        if (b >= 0x80) {
            auto c = decode_utf8(s, i);
            if (c.valid) {
                i += c.length;
                continue;
            }
            out.append(s.substr(plain, i - plain));
            out += replacement_character;
            i += c.length;
            plain = i;
            continue;
        }
        out.append(s.substr(plain, i - plain));
        switch (b) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\f':
            out += "\\f";
            break;
        case '\r':
            out += "\\r";
            break;
        default:
            out += "\\u00";
            out += hex[b >> 4];
            out += hex[b & 15];
        }
        plain = ++i;
    }
    out.append(s.substr(plain));
    out += '"';
}

JsonWriter &JsonWriter::key(std::string_view name) {
    if (indent_) {
        if (!first_)
            out_ += ',';
        new_line();
        append_json_string(out_, name);
        out_ += ": ";
        first_ = false;
        after_key_ = true;
        return *this;
    }
    // One append for the comma, the quoted name and the colon: keys are written for every field
    // of every event.
    char text[64];
    std::size_t n = 0;
    if (!first_ && !after_key_)
        text[n++] = ',';
    name = name.substr(0, sizeof text - 4);
    text[n++] = '"';
    std::memcpy(text + n, name.data(), name.size());
    n += name.size();
    text[n++] = '"';
    text[n++] = ':';
    out_.append(text, n);
    first_ = false;
    after_key_ = true;
    return *this;
}

JsonWriter &JsonWriter::value(std::string_view s) {
    separate();
    append_json_string(out_, s);
    return *this;
}

JsonWriter &JsonWriter::null() {
    separate();
    out_ += "null";
    return *this;
}

JsonWriter &JsonWriter::open(char bracket) {
    separate();
    out_ += bracket;
    first_ = true;
    ++depth_;
    return *this;
}

JsonWriter &JsonWriter::close(char bracket) {
    --depth_;
    if (indent_ && !first_) // an empty object or array stays "{}" / "[]"
        new_line();
    out_ += bracket;
    first_ = false;
    after_key_ = false;
    return *this;
}

void JsonWriter::separate() {
    if (after_key_) {
        after_key_ = false;
    } else {
        if (!first_)
            out_ += ',';
        if (indent_ && depth_ > 0)
            new_line();
    }
    first_ = false;
}

void JsonWriter::new_line() {
    out_ += '\n';
    out_.append(static_cast<std::size_t>(depth_ * indent_), ' ');
}

} // namespace freezeprobe
