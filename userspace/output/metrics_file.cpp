#include "metrics_file.h"

#include "report_file.h"

namespace freezeprobe {

void write_metrics_file(const std::string &path, const std::string &text) {
    write_file_atomically(path, text, 0644);
}

} // namespace freezeprobe
