#include "cli.h"
#include "commands.h"

#include <cstdio>
#include <malloc.h>
#include <string>
#include <vector>

int main(int argc, char **argv) {
    using namespace freezeprobe;
    // The kernel's BTF is parsed into multi-megabyte buffers once per attach attempt. A fixed mmap
    // threshold gives them back to the kernel when freed; glibc's sliding default would move them
    // onto the heap after the first one and keep the peak resident for the whole run.
    ::mallopt(M_MMAP_THRESHOLD, 256 * 1024);
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
