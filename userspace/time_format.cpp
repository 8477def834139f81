#include "time_format.h"

#include <cstdio>
#include <ctime>

namespace freezeprobe {
namespace {

std::int64_t clock_ns(clockid_t clock) {
    timespec ts{};
    clock_gettime(clock, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

} // namespace

WallClock::WallClock() {
    // Bracket the realtime read by two monotonic reads to halve the sampling error.
    auto before = clock_ns(CLOCK_MONOTONIC);
    auto real = clock_ns(CLOCK_REALTIME);
    auto after = clock_ns(CLOCK_MONOTONIC);
    offset_ns_ = real - (before + (after - before) / 2);
}

std::uint64_t WallClock::now() const {
    return from_monotonic(monotonic_now_ns());
}

std::uint64_t monotonic_now_ns() {
    return static_cast<std::uint64_t>(clock_ns(CLOCK_MONOTONIC));
}

std::string rfc3339_utc(std::uint64_t realtime_ns) {
    time_t seconds = static_cast<time_t>(realtime_ns / 1'000'000'000);
    tm utc{};
    gmtime_r(&seconds, &utc);
    char text[40];
    std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%09llu", utc.tm_year + 1900,
                  utc.tm_mon + 1, utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec,
                  static_cast<unsigned long long>(realtime_ns % 1'000'000'000));
    return std::string(text) + "Z";
}

std::string human_duration(std::uint64_t ns) {
    char text[32];
    if (ns < 1'000)
        std::snprintf(text, sizeof(text), "%lluns", static_cast<unsigned long long>(ns));
    else if (ns < 999'950) // below this, "%.1f" of microseconds does not round up to 1000.0
        std::snprintf(text, sizeof(text), "%.1fus", ns / 1e3);
    else if (ns < 999'995'000)
        std::snprintf(text, sizeof(text), "%.2fms", ns / 1e6);
    else
        std::snprintf(text, sizeof(text), "%.3fs", ns / 1e9);
    return text;
}

} // namespace freezeprobe
