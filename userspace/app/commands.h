// The three commands behind the CLI. Each returns the process exit code.
#pragma once

#include "probe_session.h"
#include "cli.h"

#include <optional>
#include <string>

namespace freezeprobe {

int run_watch(const Options &options);
int run_demo(const Options &options);
int run_doctor(const Options &options);

// Privileges and BTF: nullopt when the probe can be attached, else the one-line reason.
std::optional<std::string> cannot_run_reason();
// The command line's attach mode, filters and timings as session options.
SessionOptions session_options(const Options &options);

} // namespace freezeprobe
