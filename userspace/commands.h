// The three commands behind the CLI. Each returns the process exit code.
#pragma once

#include "bpf_probe.h"
#include "cli.h"

#include <optional>
#include <string>

namespace freezeprobe {

int run_watch(const Options &options);
int run_demo(const Options &options);
int run_doctor(const Options &options);

// Privileges and BTF: nullopt when the probe can be attached, else the one-line reason.
std::optional<std::string> cannot_run_reason();
// Attach mode requested on the command line -> probe options; nullopt with a reason if impossible.
ProbeOptions probe_options(const Options &options);

} // namespace freezeprobe
