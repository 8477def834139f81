#include "line_sink.h"

#include "json_output.h"
#include "text_output.h"

namespace freezeprobe {

void LineSink::put(const std::string &line) {
    if (failed_)
        return;
    if (live_) {
        live_->line(line);
        return;
    }
    if (std::fwrite(line.data(), 1, line.size(), out_) != line.size() ||
        std::fputc('\n', out_) == EOF)
        failed_ = true;
}

void LineSink::operator()(const Event &event) {
    if (format_ == EventFormat::none || failed_)
        return;
    if (format_ == EventFormat::json) {
        put(to_json_line(event));
        return;
    }
    for (auto &line : folder_.lines(event, to_text_line))
        put(line);
}

bool LineSink::finish() {
    if (format_ == EventFormat::text)
        for (auto &line : folder_.finish())
            put(line);
    return flush();
}

bool LineSink::flush() {
    if (!failed_ && std::fflush(out_) != 0)
        failed_ = true;
    return !failed_;
}

} // namespace freezeprobe
