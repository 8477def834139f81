#include "time_format.h"

#include <algorithm>
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

namespace {

// n as `width` decimal digits, zero-padded.
char *put_digits(char *at, std::uint64_t n, int width) {
    for (int i = width - 1; i >= 0; --i, n /= 10)
        at[i] = static_cast<char>('0' + n % 10);
    return at + width;
}

} // namespace

std::string_view rfc3339_utc(std::uint64_t realtime_ns, Rfc3339Text &buffer) {
    // gmtime_r once per second of event time: events come in bursts within the same second.
    thread_local time_t cached_second = -1;
    thread_local char cached_prefix[20]; // "2026-11-27T13:45:01"
    auto seconds = static_cast<time_t>(realtime_ns / 1'000'000'000);
    if (seconds != cached_second) {
        tm utc{};
        gmtime_r(&seconds, &utc);
        char *at = put_digits(cached_prefix, static_cast<std::uint64_t>(utc.tm_year + 1900), 4);
        *at++ = '-';
        at = put_digits(at, utc.tm_mon + 1, 2);
        *at++ = '-';
        at = put_digits(at, utc.tm_mday, 2);
        *at++ = 'T';
        at = put_digits(at, utc.tm_hour, 2);
        *at++ = ':';
        at = put_digits(at, utc.tm_min, 2);
        *at++ = ':';
        put_digits(at, utc.tm_sec, 2);
        cached_second = seconds;
    }
    char *at = std::copy(cached_prefix, cached_prefix + sizeof cached_prefix - 1, buffer.text);
    *at++ = '.';
    at = put_digits(at, realtime_ns % 1'000'000'000, 9);
    *at++ = 'Z';
    return {buffer.text, static_cast<std::size_t>(at - buffer.text)};
}

std::string rfc3339_utc(std::uint64_t realtime_ns) {
    Rfc3339Text buffer;
    return std::string(rfc3339_utc(realtime_ns, buffer));
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
