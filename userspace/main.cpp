#include "cli.h"
#include "commands.h"

#include <cstdio>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    using namespace freezeprobe;
    auto parsed = parse_command_line(std::vector<std::string>(argv, argv + argc));
    if (!parsed.options) {
        std::fputs(parsed.output.c_str(), parsed.exit_code == exit_ok ? stdout : stderr);
        return parsed.exit_code;
    }
    switch (parsed.options->command) {
    case Command::doctor:
        return run_doctor(*parsed.options);
    case Command::demo:
        return run_demo(*parsed.options);
    case Command::watch:
        break;
    }
    return run_watch(*parsed.options);
}
