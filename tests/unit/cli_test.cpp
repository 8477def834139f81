// The command line of docs/report.md: defaults, options, and the exit codes for help,
// version and usage errors.
#include "cli.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>
#include <vector>

namespace freezeprobe {
namespace {

ParsedCommandLine parse(std::vector<std::string> args) {
    args.insert(args.begin(), "freezeprobe");
    return parse_command_line(args);
}

Options options_of(std::vector<std::string> args) {
    auto parsed = parse(args);
    EXPECT_TRUE(parsed.options.has_value()) << parsed.output;
    EXPECT_EQ(parsed.exit_code, exit_ok);
    return parsed.options.value_or(Options{});
}

TEST(Cli, Defaults) {
    auto o = options_of({});
    EXPECT_EQ(o.command, Command::watch);
    EXPECT_EQ(o.events, EventFormat::text);
    EXPECT_EQ(o.attach, "auto");
    EXPECT_FALSE(o.duration_s);
    EXPECT_EQ(o.cgroup_prefix, "");
    EXPECT_EQ(o.container_prefix, "");
    EXPECT_FALSE(o.verbose);
}

TEST(Cli, EmptyArgvIsTheDefault) {
    auto parsed = parse_command_line({});
    ASSERT_TRUE(parsed.options);
    EXPECT_EQ(parsed.options->command, Command::watch);
}

TEST(Cli, WatchWithOptions) {
    auto o = options_of({"watch", "--duration", "1.5", "--events", "json", "--cgroup", "/kubepods",
                         "--container", "abc"});
    EXPECT_EQ(o.command, Command::watch);
    ASSERT_TRUE(o.duration_s);
    EXPECT_DOUBLE_EQ(*o.duration_s, 1.5);
    EXPECT_EQ(o.events, EventFormat::json);
    EXPECT_EQ(o.cgroup_prefix, "/kubepods");
    EXPECT_EQ(o.container_prefix, "abc");
}

TEST(Cli, OptionsWithoutSubcommandAndEqualsForm) {
    auto o = options_of({"--duration=30", "--events=none", "--attach", "tracepoint", "-v"});
    EXPECT_EQ(o.command, Command::watch);
    EXPECT_DOUBLE_EQ(o.duration_s.value_or(0), 30);
    EXPECT_EQ(o.events, EventFormat::none);
    EXPECT_EQ(o.attach, "tracepoint");
    EXPECT_TRUE(o.verbose);
}

TEST(Cli, EveryAttachModeAndAutoAreAccepted) {
    EXPECT_EQ(options_of({}).attach, "auto");
    for (auto mode : {"auto", "fentry", "kprobe", "tracepoint"}) {
        EXPECT_EQ(options_of({"--attach", mode}).attach, mode);
        EXPECT_EQ(options_of({"doctor", "--attach", mode}).attach, mode);
    }
}

TEST(Cli, EventFormats) {
    EXPECT_EQ(options_of({"--events", "text"}).events, EventFormat::text);
    EXPECT_EQ(options_of({"--events", "json"}).events, EventFormat::json);
    EXPECT_EQ(options_of({"--events", "none"}).events, EventFormat::none);
}

TEST(Cli, Subcommands) {
    EXPECT_EQ(options_of({"doctor"}).command, Command::doctor);
    EXPECT_EQ(options_of({"demo"}).command, Command::demo);
    EXPECT_EQ(options_of({"watch"}).command, Command::watch);
}

TEST(Cli, Help) {
    for (const char *flag : {"--help", "-h"}) {
        auto parsed = parse({flag});
        EXPECT_FALSE(parsed.options) << flag;
        EXPECT_EQ(parsed.exit_code, exit_ok) << flag;
        EXPECT_NE(parsed.output.find("Usage"), std::string::npos) << parsed.output;
        EXPECT_NE(parsed.output.find("--duration"), std::string::npos) << parsed.output;
        EXPECT_NE(parsed.output.find("doctor"), std::string::npos) << parsed.output;
    }
}

TEST(Cli, CommandHelpShowsTheOptions) {
    for (const char *command : {"watch", "doctor", "demo"}) {
        auto parsed = parse({command, "--help"});
        EXPECT_FALSE(parsed.options) << command;
        EXPECT_EQ(parsed.exit_code, exit_ok) << command;
        EXPECT_NE(parsed.output.find("--metrics-file"), std::string::npos) << parsed.output;
        EXPECT_NE(parsed.output.find("Exit codes"), std::string::npos) << parsed.output;
    }
}

TEST(Cli, Version) {
    auto parsed = parse({"--version"});
    EXPECT_FALSE(parsed.options);
    EXPECT_EQ(parsed.exit_code, exit_ok);
    EXPECT_NE(parsed.output.find(version_string), std::string::npos) << parsed.output;
    EXPECT_NE(parsed.output.find("0."), std::string::npos) << parsed.output;
}

TEST(Cli, UsageErrorsExit2) {
    const std::vector<std::vector<std::string>> cases = {
        {"--bogus"},
        {"watch", "--bogus"},
        {"frobnicate"},
        {"--duration", "-1"},
        {"--duration", "abc"},
        {"--duration", "0"},
        {"--duration", "1.5s"},
        {"--duration", ""},
        {"--duration"},
        {"--events", "xml"},
        {"--events", "JSON"},
        {"--attach", "bogus"},
        {"--attach", "FENTRY"},
        {"doctor", "demo"},
    };
    for (const auto &args : cases) {
        auto parsed = parse(args);
        std::string joined;
        for (const auto &a : args)
            joined += a + " ";
        EXPECT_FALSE(parsed.options) << joined;
        EXPECT_EQ(parsed.exit_code, exit_usage) << joined;
        EXPECT_NE(parsed.output.find("freezeprobe:"), std::string::npos) << parsed.output;
        EXPECT_NE(parsed.output.find("--help"), std::string::npos) << parsed.output;
        EXPECT_EQ(std::count(parsed.output.begin(), parsed.output.end(), '\n'), 1)
            << "one line: " << parsed.output;
    }
}

TEST(Cli, RingBufferSizeIsAHiddenOption) {
    EXPECT_FALSE(options_of({}).ring_buffer_kib);
    EXPECT_EQ(options_of({"--ring-buffer-kib", "4"}).ring_buffer_kib, 4u);
    EXPECT_EQ(options_of({"watch", "--ring-buffer-kib=1024"}).ring_buffer_kib, 1024u);
    for (const char *bad : {"0", "3", "6", "1000", "2097152", "-4", "4k", ""}) {
        auto parsed = parse({"--ring-buffer-kib", bad});
        EXPECT_EQ(parsed.exit_code, exit_usage) << bad;
        EXPECT_NE(parsed.output.find("power of two"), std::string::npos) << parsed.output;
    }
    auto help = parse({"--help"}).output;
    EXPECT_EQ(help.find("ring-buffer"), std::string::npos) << help;
}

TEST(Cli, DurationMessageIsPlain) {
    auto parsed = parse({"--duration", "-1"});
    EXPECT_NE(parsed.output.find("positive number of seconds"), std::string::npos) << parsed.output;
}

TEST(Cli, ExitCodesAreTheDocumentedOnes) {
    EXPECT_EQ(exit_ok, 0);
    EXPECT_EQ(exit_cannot_run, 1);
    EXPECT_EQ(exit_usage, 2);
    EXPECT_EQ(exit_fail_on, 3);
}

} // namespace
} // namespace freezeprobe
