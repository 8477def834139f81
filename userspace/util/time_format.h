// Kernel timestamps (CLOCK_MONOTONIC) to wall-clock time and RFC 3339 text.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace freezeprobe {

class WallClock {
  public:
    // Samples the offset between CLOCK_REALTIME and CLOCK_MONOTONIC now.
    WallClock();
    explicit WallClock(std::int64_t offset_ns) : offset_ns_(offset_ns) {}
    std::uint64_t from_monotonic(std::uint64_t mono_ns) const { return mono_ns + offset_ns_; }
    std::uint64_t now() const;

  private:
    std::int64_t offset_ns_;
};

std::uint64_t monotonic_now_ns();
// "2026-11-27T13:45:01.123456789Z"
std::string rfc3339_utc(std::uint64_t realtime_ns);
// The same into a caller's buffer, without an allocation (one per event in the JSON lines).
struct Rfc3339Text {
    char text[32];
};
std::string_view rfc3339_utc(std::uint64_t realtime_ns, Rfc3339Text &buffer);
// "850ns", "12.3us", "4.20ms", "1.500s"
std::string human_duration(std::uint64_t ns);

} // namespace freezeprobe
