#include "line_sink.h"

#include "json_output.h"
#include "text_output.h"

#include <cerrno>

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
        fail();
}

void LineSink::operator()(const Event &event) {
    if (format_ == EventFormat::none || failed_)
        return;
    if (format_ == EventFormat::json) {
        json_line_.clear(); // keeps its capacity: no allocation per event
        append_json_line(json_line_, event);
        put(json_line_);
        return;
    }
    for (auto &line : folder_.lines(event, to_text_line))
        put(line);
}

void LineSink::fail() {
    failed_ = true;
    error_ = errno;
}

bool LineSink::finish() {
    if (format_ == EventFormat::text)
        for (auto &line : folder_.finish())
            put(line);
    return flush();
}

bool LineSink::flush() {
    if (!failed_ && std::fflush(out_) != 0)
        fail();
    return !failed_;
}

} // namespace freezeprobe
