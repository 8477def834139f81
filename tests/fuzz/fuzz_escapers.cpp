// The escapers of the three text formats, on any bytes, each against a decoder of its format:
//   escape_for_terminal: printable ASCII only, and it decodes back to the input exactly;
//   prometheus_label_value: valid UTF-8 with no raw quote or newline; it decodes back to the
//     input when that is valid UTF-8, else to a string keeping every valid part of it;
//   xml_escape: only XML 1.0 characters and the five entities and character references; it
//     decodes back to the input when that holds only XML characters, else keeps every valid part;
//   append_json_string (the JSON lines' hand-written escaper): byte for byte what nlohmann::json
//     writes for the same string (dump with error_handler_t::replace), and it parses back.
#include "fuzz_checks.h"
#include "json_writer.h"
#include "junit_report.h"
#include "prometheus_metrics.h"
#include "text_util.h"

#include <nlohmann/json.hpp>

#include <string>

using namespace freezeprobe;
using namespace freezeprobe::fuzz;

namespace {

int hex_value(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

std::string terminal_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        FUZZ_CHECK(s[i] >= 0x20 && s[i] <= 0x7e);
        if (s[i] != '\\') {
            FUZZ_CHECK(s[i] != '"');
            out.push_back(s[i]);
            continue;
        }
        FUZZ_CHECK(i + 1 < s.size());
        char e = s[++i];
        if (e == 'n' || e == 't' || e == '\\' || e == '"') {
            out.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
            continue;
        }
        FUZZ_CHECK(e == 'x' && i + 2 < s.size());
        int hi = hex_value(s[i + 1]), lo = hex_value(s[i + 2]);
        FUZZ_CHECK(hi >= 0 && lo >= 0);
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
    }
    return out;
}

// Prometheus text format 0.0.4: inside a label value, \\ \" and \n are the only escapes.
std::string prometheus_decode(std::string_view s) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        FUZZ_CHECK(s[i] != '"' && s[i] != '\n');
        if (s[i] != '\\') {
            out.push_back(s[i]);
            continue;
        }
        FUZZ_CHECK(i + 1 < s.size());
        char e = s[++i];
        FUZZ_CHECK(e == '\\' || e == '"' || e == 'n');
        out.push_back(e == 'n' ? '\n' : e);
    }
    return out;
}

void append_utf8(std::string &out, char32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

// Text that is safe both as element content and inside a double- or single-quoted attribute.
std::string xml_decode(std::string_view s) {
    std::string out;
    char32_t cp;
    for (std::size_t i = 0, n; i < s.size(); i += n) {
        n = utf8_at(s, i, cp);
        FUZZ_CHECK(n != 0 && xml_char(cp));
        FUZZ_CHECK(cp != '<' && cp != '>' && cp != '"' && cp != '\'');
        if (cp != '&') {
            out.append(s.substr(i, n));
            continue;
        }
        auto semi = s.find(';', i);
        FUZZ_CHECK(semi != std::string_view::npos);
        auto name = s.substr(i + 1, semi - i - 1);
        n = semi - i + 1;
        if (name == "amp" || name == "lt" || name == "gt" || name == "quot" || name == "apos") {
            out.push_back(name == "amp"    ? '&'
                          : name == "lt"   ? '<'
                          : name == "gt"   ? '>'
                          : name == "quot" ? '"'
                                           : '\'');
            continue;
        }
        FUZZ_CHECK(name.size() >= 2 && name.size() <= 8 && name[0] == '#');
        char32_t ref = 0;
        for (char d : name.substr(1)) {
            FUZZ_CHECK(d >= '0' && d <= '9');
            ref = ref * 10 + (d - '0');
        }
        FUZZ_CHECK(xml_char(ref));
        append_utf8(out, ref);
    }
    return out;
}

bool only_xml_chars(std::string_view s) {
    char32_t cp;
    for (std::size_t i = 0, n; i < s.size(); i += n) {
        n = utf8_at(s, i, cp);
        if (n == 0 || !xml_char(cp))
            return false;
    }
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view in(reinterpret_cast<const char *>(data), size);

    FUZZ_CHECK(terminal_decode(escape_for_terminal(in)) == in);

    auto label = prometheus_label_value(in);
    FUZZ_CHECK(valid_utf8(label));
    auto label_text = prometheus_decode(label);
    FUZZ_CHECK(valid_utf8(in) ? label_text == in : valid_parts(label_text) == valid_parts(in));

    auto xml_text = xml_decode(xml_escape(in));
    FUZZ_CHECK(only_xml_chars(in) ? xml_text == in
                                  : valid_parts(xml_text, xml_char) == valid_parts(in, xml_char));

    std::string json_text;
    append_json_string(json_text, in);
    using json = nlohmann::json;
    FUZZ_CHECK(json_text ==
               json(std::string(in)).dump(-1, ' ', false, json::error_handler_t::replace));
    FUZZ_CHECK(!valid_utf8(in) || json::parse(json_text).get<std::string>() == in);
    return 0;
}
