// The hand-written JSON writer of the event lines: the same bytes nlohmann::json writes for any
// string (its escapes, and U+FFFD per invalid UTF-8 sequence), and commas in the right places.
#include "json_writer.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace freezeprobe {
namespace {

using json = nlohmann::json;

std::string reference(const std::string &s) {
    return json(s).dump(-1, ' ', false, json::error_handler_t::replace);
}

std::string written(const std::string &s) {
    std::string out;
    append_json_string(out, s);
    return out;
}

TEST(JsonString, SameBytesAsNlohmannForEveryByte) {
    for (int b = 0; b < 256; ++b) {
        std::string s = "a" + std::string(1, static_cast<char>(b)) + "z";
        EXPECT_EQ(written(s), reference(s)) << "byte " << b;
    }
}

TEST(JsonString, SameBytesAsNlohmannForBadUtf8) {
    const std::vector<std::string> cases = {
        "",
        "plain",
        "quote\" backslash\\ slash/ del\x7f",
        "\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", // valid 2, 3, 4 bytes
        "\xc0\xaf",                                        // overlong '/'
        "\xe0\x80\xaf",                                    // overlong, 3 bytes
        "\xed\xa0\x80",                                    // surrogate
        "\xf4\x90\x80\x80",                                // above U+10FFFF
        "\xe2\x82",                                        // truncated at the end
        "\xe2\x82"
        "A", // truncated, then ASCII
        "\xf0\x9f\x98"
        "\xf0\x9f\x98\x80",         // truncated, then valid
        "\x80\xbf",                 // stray continuations
        "\xff\xfe",                 // never in UTF-8
        "\xef\xbf\xbe\xef\xbf\xbf", // noncharacters: valid UTF-8
        std::string("nul\0byte", 8),
    };
    for (auto &s : cases)
        EXPECT_EQ(written(s), reference(s))
            << json(s).dump(-1, ' ', true, json::error_handler_t::replace);
}

TEST(JsonString, SameBytesAsNlohmannForRandomBytes) {
    std::mt19937 random(20261127);
    // Mostly the bytes UTF-8 is made of, so that many sequences are nearly valid.
    const std::string alphabet = "a\"\\\n\x01\x7f\x80\x8f\x90\x9f\xa0\xbf\xc0\xc2\xdf\xe0\xe1\xed"
                                 "\xee\xef\xf0\xf1\xf4\xf5\xff";
    for (int n = 0; n < 20000; ++n) {
        std::string s(random() % 12, ' ');
        for (auto &c : s)
            c = alphabet[random() % alphabet.size()];
        ASSERT_EQ(written(s), reference(s))
            << json(s).dump(-1, ' ', true, json::error_handler_t::replace);
    }
}

TEST(JsonWriter, CommasBetweenElementsOnly) {
    std::string out;
    JsonWriter w(out);
    w.begin_object();
    w.key("a").value(1).key("b").begin_array().end_array();
    w.key("c").begin_array().value("x").begin_object().end_object().null().value(true).end_array();
    w.key("d").begin_object().key("e").value(false).end_object();
    w.key("f").value(std::optional<int>()).key("g").value(std::optional<std::string>("h"));
    w.end_object();
    EXPECT_EQ(out, R"({"a":1,"b":[],"c":["x",{},null,true],"d":{"e":false},"f":null,"g":"h"})");
    EXPECT_TRUE(json::accept(out));
}

TEST(JsonWriter, IntegersAtTheirLimits) {
    std::string out;
    JsonWriter w(out);
    w.begin_array();
    w.value(std::numeric_limits<std::int64_t>::min())
        .value(std::numeric_limits<std::uint64_t>::max());
    w.value(std::uint32_t{0}).value(-1);
    w.end_array();
    EXPECT_EQ(out, "[-9223372036854775808,18446744073709551615,0,-1]");
}

TEST(JsonWriter, AppendsToWhatIsThere) {
    std::string out = "prefix ";
    JsonWriter(out).begin_object().key("k").value("v").end_object();
    EXPECT_EQ(out, R"(prefix {"k":"v"})");
}

} // namespace
} // namespace freezeprobe
