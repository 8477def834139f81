// What the kernel makes of the bytes written to a control file: the trimmed value, the pid a
// cgroup.procs/tasks write names (kstrtoint(strstrip(buf), 0)), and errno names.
#include "written_value.h"
#include "errno_name.h"

#include <gtest/gtest.h>

#include <climits>
#include <string>

namespace freezeprobe {
namespace {

using namespace std::string_literals;

TEST(WrittenValue, Trims) {
    struct Row {
        std::string raw;
        std::string want;
    };
    const Row rows[] = {
        {"FROZEN\n", "FROZEN"},
        {"THAWED", "THAWED"},
        {"  1 \n", "1"},
        {"\t0\r\n", "0"},
        {"FROZEN\n\0\0\0"s, "FROZEN"},
        {"\0\0 1234\n\0"s, ""}, // the kernel reads an empty C string
        {"", ""},
        {"\n", ""},
        {"\0\0"s, ""},
        {"FRO ZEN\n", "FRO ZEN"}, // inner blanks are the writer's, kept
    };
    for (const auto &row : rows)
        EXPECT_EQ(written_value(row.raw), row.want) << "raw " << testing::PrintToString(row.raw);
}

// strstrip() uses the kernel's isspace(), which also counts 0xa0 (Latin-1 no-break space): the
// kernel takes "1\xa0" as a freeze of a v2 cgroup and "FROZEN\xa0" as a v1 freeze (checked on
// this machine's kernel; found by the written-value fuzzer). \v and \f are spaces too.
TEST(WrittenValue, KernelSpacesIncludeNoBreakSpace) {
    EXPECT_EQ(written_value("\xa0"
                            "FROZEN\xa0"),
              "FROZEN");
    EXPECT_EQ(freeze_request(true, "FROZEN\xa0"), true);
    EXPECT_EQ(freeze_request(false, "1\xa0"), true);
    EXPECT_EQ(written_pid("\v\f"
                          "42\xa0\n"),
              42);
    EXPECT_EQ(written_value("caf\xc3\xa9"), "caf\xc3\xa9") << "0xa0 inside UTF-8 is not trimmed";
    EXPECT_EQ(written_value("\xc2\xa0"), "\xc2")
        << "but a trailing 0xa0 byte is, as the kernel does";
}

// The kernel reads the buffer as a C string: nothing after the first NUL reaches it. A writer
// reusing a fixed-size buffer sends stale bytes after the NUL.
TEST(WrittenValue, StopsAtFirstNul) {
    EXPECT_EQ(written_value("FROZEN\0junk"s), "FROZEN");
    EXPECT_EQ(written_value("THAWED\n\0ZEN\n"s), "THAWED");
    EXPECT_EQ(written_pid("42\0junk"s), 42);
    EXPECT_EQ(written_pid("12\0"
                          "4567\0\0\0"s),
              12);
    EXPECT_EQ(written_pid("\0"
                          "42"s),
              std::nullopt);
}

// strstrip() strips everything isspace() accepts, vertical tab and form feed included.
TEST(WrittenValue, StripsAllCWhitespace) {
    EXPECT_EQ(written_value("\v\fTHAWED\f\v"), "THAWED");
    EXPECT_EQ(written_pid("\v7\f"), 7);
}

TEST(WrittenPid, KernelIntegerSyntax) {
    struct Row {
        std::string raw;
        std::optional<std::int64_t> want;
    };
    const Row rows[] = {
        // decimal, with the newline echo(1) adds and the blanks strstrip() removes
        {"1234", 1234},
        {"1234\n", 1234},
        {"  42  \n", 42},
        {"0", 0},
        {"0\n", 0},
        // base 0: 0x is hex, a leading 0 is octal
        {"0x1f", 31},
        {"0X1F", 31},
        {"0x0", 0},
        {"017", 15},
        {"00", 0},
        {"08", std::nullopt},
        {"0x", std::nullopt},
        {"0xg", std::nullopt},
        // sign: kstrtoint takes one '+' or '-'; the cgroup code rejects negatives later
        {"+5", 5},
        {"-1", -1},
        {"-0", 0},
        {"-0x10", -16},
        {"+-5", std::nullopt},
        {"--5", std::nullopt},
        {"- 5", std::nullopt},
        {"+", std::nullopt},
        {"-", std::nullopt},
        // not numbers
        {"abc", std::nullopt},
        {"12abc", std::nullopt},
        {"1 2", std::nullopt},
        {"1.5", std::nullopt},
        {"", std::nullopt},
        {"\n", std::nullopt},
        // int range: kstrtoint says ERANGE outside it
        {"2147483647", INT_MAX},
        {"2147483648", std::nullopt},
        {"-2147483648", INT_MIN},
        {"-2147483649", std::nullopt},
        {"0x7fffffff", INT_MAX},
        {"0x80000000", std::nullopt},
        {"99999999999", std::nullopt},
        {"99999999999999999999999999", std::nullopt},
    };
    for (const auto &row : rows)
        EXPECT_EQ(written_pid(row.raw), row.want) << "raw " << testing::PrintToString(row.raw);
}

TEST(ErrnoName, KnownNumbers) {
    EXPECT_EQ(errno_name(22), "EINVAL");
    EXPECT_EQ(errno_name(3), "ESRCH");
    EXPECT_EQ(errno_name(34), "ERANGE");
    EXPECT_EQ(errno_name(19), "ENODEV");
    EXPECT_EQ(errno_name(2), "ENOENT");
    EXPECT_EQ(errno_name(16), "EBUSY");
}

TEST(ErrnoName, NoNameForZeroOrUnknown) {
    EXPECT_EQ(errno_name(0), std::nullopt);
    EXPECT_EQ(errno_name(-22), std::nullopt);
    EXPECT_EQ(errno_name(99999), std::nullopt);
}

} // namespace
} // namespace freezeprobe
