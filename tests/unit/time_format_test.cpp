// Kernel monotonic time to wall-clock time, and how times and durations are written.
#include "time_format.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <ctime>

#include <chrono>
#include <cstdlib>
#include <cstdint>
#include <limits>

namespace freezeprobe {
namespace {

constexpr std::uint64_t s = 1'000'000'000;

TEST(Rfc3339Utc, Values) {
    EXPECT_EQ(rfc3339_utc(0), "1970-01-01T00:00:00.000000000Z");
    EXPECT_EQ(rfc3339_utc(1), "1970-01-01T00:00:00.000000001Z");
    EXPECT_EQ(rfc3339_utc(999'999'999), "1970-01-01T00:00:00.999999999Z");
    EXPECT_EQ(rfc3339_utc(1700000000 * s + 123456789), "2023-11-14T22:13:20.123456789Z");
    EXPECT_EQ(rfc3339_utc(951782400 * s), "2000-02-29T00:00:00.000000000Z"); // leap day
    EXPECT_EQ(rfc3339_utc(1767225599 * s + 5), "2025-12-31T23:59:59.000000005Z");
    EXPECT_EQ(rfc3339_utc(std::numeric_limits<std::uint64_t>::max()),
              "2554-07-21T23:34:33.709551615Z");
}

// The allocation-free form caches the date of the last second: going back and forth between
// seconds, and within one, gives the same text as a fresh conversion.
TEST(Rfc3339Utc, BufferFormAgreesAcrossSeconds) {
    const std::uint64_t times[] = {
        1700000000 * s + 1, 1700000000 * s + 999'999'999, 1700000001 * s, 1700000000 * s + 5, 0,
        951782400 * s + 42, 951782400 * s + 43,           1767225599 * s};
    for (auto t : times) {
        Rfc3339Text buffer;
        EXPECT_EQ(rfc3339_utc(t, buffer), rfc3339_utc(t)) << t;
        time_t seconds = static_cast<time_t>(t / s);
        tm utc{};
        gmtime_r(&seconds, &utc);
        char want[40];
        std::snprintf(want, sizeof want, "%04d-%02d-%02dT%02d:%02d:%02d.%09lluZ",
                      utc.tm_year + 1900, utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min,
                      utc.tm_sec, static_cast<unsigned long long>(t % s));
        EXPECT_EQ(rfc3339_utc(t, buffer), want);
    }
}

TEST(HumanDuration, Ranges) {
    struct Row {
        std::uint64_t ns;
        const char *want;
    };
    const Row rows[] = {
        {0, "0ns"},
        {850, "850ns"},
        {999, "999ns"},
        {1'000, "1.0us"},
        {12'345, "12.3us"},
        {999'000, "999.0us"},
        {999'999, "1.00ms"}, // never "1000.0us"
        {999'999'999, "1.000s"},
        {1'000'000, "1.00ms"},
        {4'200'000, "4.20ms"},
        {999'000'000, "999.00ms"},
        {1'000'000'000, "1.000s"},
        {1'500'000'000, "1.500s"},
        {3600 * s, "3600.000s"},
    };
    for (const auto &row : rows)
        EXPECT_EQ(human_duration(row.ns), row.want) << row.ns;
}

TEST(WallClock, FixedOffset) {
    EXPECT_EQ(WallClock(0).from_monotonic(42), 42u);
    EXPECT_EQ(WallClock(1700000000 * s).from_monotonic(5 * s + 7), 1700000005 * s + 7);
    EXPECT_EQ(WallClock(-100).from_monotonic(1000), 900u);
}

TEST(WallClock, SampledOffsetMatchesSystemClock) {
    WallClock clock;
    auto system_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    auto diff = static_cast<std::int64_t>(clock.now()) - system_ns;
    EXPECT_LT(std::abs(diff), static_cast<std::int64_t>(s)) << diff;
    // A kernel timestamp taken now maps to about now.
    auto mapped = static_cast<std::int64_t>(clock.from_monotonic(monotonic_now_ns()));
    EXPECT_LT(std::abs(mapped - system_ns), static_cast<std::int64_t>(s));
}

TEST(MonotonicNow, NeverGoesBack) {
    auto a = monotonic_now_ns();
    auto b = monotonic_now_ns();
    EXPECT_LE(a, b);
    EXPECT_GT(a, 0u);
}

} // namespace
} // namespace freezeprobe
