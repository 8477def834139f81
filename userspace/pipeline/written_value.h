// What a writer put into a control file, as the kernel will read it.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace freezeprobe {

// The value as the kernel reads it: up to the first NUL, surrounding whitespace removed
// ("FROZEN\n" -> "FROZEN", "12\0stale" -> "12").
std::string written_value(std::string_view raw);
// The pid a cgroup.procs/tasks/cgroup.threads write names, parsed as the kernel's
// kstrtoint(strstrip(buf), 0) does (decimal, 0x hex, leading-0 octal, optional sign);
// nullopt when the kernel would reject it as a number.
std::optional<std::int64_t> written_pid(std::string_view raw);

// What a successful write to freezer.state or cgroup.freeze asks for: true freeze (FROZEN, 1),
// false thaw (THAWED, 0), nullopt anything else (the kernel refuses it).
std::optional<bool> freeze_request(bool v1_freezer_state, std::string_view raw);

} // namespace freezeprobe
