// Fills in the cause of reported blockers: the kind from the stack the scan read, then what /proc
// and /sys say about the file the task waits on (its syscall's descriptor, that file's mount),
// the device and a loop device's backing file, and the FUSE daemon serving the connection. Runs
// only when blockers are reported, never inside the scan: it reads several files per blocker
// and, for FUSE, every process's descriptors. It never stat()s a file on FUSE or a network file
// system, whose server may be the one not answering.
#pragma once

#include "event_model.h"
#include "fuse_daemons.h"

#include <string>
#include <vector>

namespace freezeprobe {

class CauseResolver {
  public:
    CauseResolver() = default;
    // How FUSE daemons are found ("task-file iterator" or "/proc (...)").
    const std::string &fuse_method() const { return daemons_.method(); }
    void resolve(std::vector<Blocker> &blockers) const;

  private:
    FuseDaemons daemons_;
};

// The cause from the stack alone, for the scan (cheap; no I/O).
BlockerCause classify_blocker(const Blocker &b);

} // namespace freezeprobe
