#include "line_sink.h"

#include "json_output.h"
#include "text_output.h"

namespace freezeprobe {

void LineSink::operator()(const Event &event) {
    if (format_ == EventFormat::none || failed_)
        return;
    auto line = format_ == EventFormat::json ? to_json_line(event) : to_text_line(event);
    line.push_back('\n');
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size())
        failed_ = true;
}

bool LineSink::flush() {
    if (!failed_ && std::fflush(out_) != 0)
        failed_ = true;
    return !failed_;
}

} // namespace freezeprobe
