// The string helpers under the parsers and the text output.
#include "text_util.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>
#include <vector>

namespace freezeprobe {
namespace {

using namespace std::string_literals;
using Parts = std::vector<std::string_view>;

TEST(Split, DropsEmptyFields) {
    EXPECT_EQ(split("a,b,c", ','), (Parts{"a", "b", "c"}));
    EXPECT_EQ(split("a,,b,", ','), (Parts{"a", "b"}));
    EXPECT_EQ(split(",a", ','), (Parts{"a"}));
    EXPECT_EQ(split("abc", ','), (Parts{"abc"}));
    EXPECT_EQ(split("", ','), Parts{});
    EXPECT_EQ(split(",,,", ','), Parts{});
    EXPECT_EQ(split("l1\nl2\n", '\n'), (Parts{"l1", "l2"}));
}

TEST(Trim, BlanksAndNuls) {
    EXPECT_EQ(trim("  x  "), "x");
    EXPECT_EQ(trim("\t\r\nx y\n"), "x y");
    EXPECT_EQ(trim("\0x\0"s), "x");
    EXPECT_EQ(trim(""), "");
    EXPECT_EQ(trim(" \n\t\0"s), "");
    EXPECT_EQ(trim("x"), "x");
    EXPECT_EQ(trim("\v\fx\f\v"), "x"); // everything C's isspace() accepts
    EXPECT_EQ(trim("\0x\0y\0"s), "x\0y"s);
}

TEST(StartsWithPath, WholeComponents) {
    struct Row {
        std::string_view path;
        std::string_view prefix;
        bool want;
    };
    const Row rows[] = {
        {"/a/b", "/a", true},
        {"/a", "/a", true},
        {"/ab", "/a", false},
        {"/a/b", "/a/", true},
        {"/a", "/a/", true},
        {"/ab", "/a/", false},
        {"/a/b", "/a//", true},
        {"/a/b/c", "/a/b", true},
        {"/a/bc", "/a/b", false},
        {"/b", "/a", false},
        {"/a", "/a/b", false},
        {"/anything", "/", true},
        {"/", "/", true},
        {"/anything", "", true},
        {"", "", true},
        {"/x", "//", true},
        {"/kubepods.slice/kubepods-pod1.slice", "/kubepods", false},
        {"/kubepods/burstable/pod1", "/kubepods", true},
    };
    for (const auto &row : rows)
        EXPECT_EQ(starts_with_path(row.path, row.prefix), row.want)
            << "path '" << row.path << "' prefix '" << row.prefix << "'";
}

TEST(EscapeForTerminal, PlainTextUnchanged) {
    EXPECT_EQ(escape_for_terminal("/kubepods/burstable/pod-1_x.slice"),
              "/kubepods/burstable/pod-1_x.slice");
    EXPECT_EQ(escape_for_terminal(""), "");
}

TEST(EscapeForTerminal, Escapes) {
    struct Row {
        std::string in;
        std::string want;
    };
    const Row rows[] = {
        {"a\nb", R"(a\nb)"},
        {"a\tb", R"(a\tb)"},
        {"say \"hi\"", R"(say \"hi\")"},
        {"back\\slash", R"(back\\slash)"},
        {"\x1b[31mred", R"(\x1b[31mred)"},
        {"\r", R"(\x0d)"},
        {"\0"s, R"(\x00)"},
        {"\x7f", R"(\x7f)"},
        {"\xff", R"(\xff)"},
        // UTF-8 is not trusted either: one escape per byte.
        {"caf\xc3\xa9", R"(caf\xc3\xa9)"},
        {"\xe2\x82\xac", R"(\xe2\x82\xac)"},
    };
    for (const auto &row : rows)
        EXPECT_EQ(escape_for_terminal(row.in), row.want) << testing::PrintToString(row.in);
}

TEST(EscapeForTerminal, OutputIsPrintableAscii) {
    std::string all;
    for (int c = 0; c < 256; ++c)
        all.push_back(static_cast<char>(c));
    for (unsigned char c : escape_for_terminal(all))
        EXPECT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int(c);
}

} // namespace
} // namespace freezeprobe
