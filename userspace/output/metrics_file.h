// `--metrics-file PATH`: the Prometheus text rewritten atomically for node_exporter's textfile
// collector, which may read the file at any moment and must never see half of it.
#pragma once

#include <string>

namespace freezeprobe {

// write_file_atomically (report_file.h) with mode 0644: the collector often runs as another
// user. Its temporary name ends in ".tmp", never ".prom", so the collector ignores it. Throws
// std::system_error naming path.
void write_metrics_file(const std::string &path, const std::string &text);

} // namespace freezeprobe
