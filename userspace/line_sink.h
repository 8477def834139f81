// Writes events as text or JSON lines to a stream, flushing per batch so that a pipe reader sees
// events as they happen; remembers a failed write (e.g. the reader went away) instead of dying.
#pragma once

#include "cli.h"
#include "event_model.h"

#include <cstdio>

namespace freezeprobe {

class LineSink {
  public:
    LineSink(EventFormat format, std::FILE *out) : format_(format), out_(out) {}
    void operator()(const Event &event);
    // Flushes; false once the stream has failed (errno says why).
    bool flush();
    bool failed() const { return failed_; }

  private:
    EventFormat format_;
    std::FILE *out_;
    bool failed_ = false;
};

} // namespace freezeprobe
