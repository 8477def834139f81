// Writes events as text or JSON lines to a stream, flushing per batch so that a pipe reader sees
// events as they happen; remembers a failed write (e.g. the reader went away) instead of dying.
// Text lines fold repeated writes (RepeatFolder); JSON lines are all written.
#pragma once

#include "event_model.h"
#include "live_view.h"
#include "repeat_folder.h"

#include <cstdio>
#include <string>

namespace freezeprobe {

// --events: how live events are written.
enum class EventFormat { text, json, none };

class LineSink {
  public:
    LineSink(EventFormat format, std::FILE *out) : format_(format), out_(out) {}
    void operator()(const Event &event);
    // Flushes; false once the stream has failed (error() says why).
    bool flush();
    // Writes what is still folded, then flushes.
    bool finish();
    // Text lines go above the live view's table instead (a terminal).
    void use_live_view(LiveView *view) { live_ = view; }
    bool failed() const { return failed_; }
    // The errno of the failed write (EPIPE: the reader went away).
    int error() const { return error_; }

  private:
    void put(const std::string &line);
    void fail();

    EventFormat format_;
    RepeatFolder folder_;
    LiveView *live_ = nullptr;
    std::FILE *out_;
    std::string json_line_;
    bool failed_ = false;
    int error_ = 0;
};

} // namespace freezeprobe
