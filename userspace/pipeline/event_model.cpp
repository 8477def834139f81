#include "event_model.h"

namespace freezeprobe {

const char *type_name(const Event &event) {
    struct Name {
        const char *operator()(const FreezeWrite &) const { return "freeze_write"; }
        const char *operator()(const ProcsWrite &) const { return "procs_write"; }
        const char *operator()(const Lost &) const { return "lost"; }
        const char *operator()(const FreezeStall &) const { return "freeze_stall"; }
        const char *operator()(const FreezeHeld &) const { return "freeze_held"; }
        const char *operator()(const FreezeEpisode &) const { return "freeze_episode"; }
    };
    return std::visit(Name{}, event.body);
}

const char *outcome_name(EpisodeOutcome outcome) {
    switch (outcome) {
    case EpisodeOutcome::frozen:
        return "frozen";
    case EpisodeOutcome::aborted:
        return "aborted";
    case EpisodeOutcome::thawed:
        return "thawed";
    case EpisodeOutcome::removed:
        return "removed";
    case EpisodeOutcome::open:
        break;
    }
    return "open";
}

} // namespace freezeprobe

namespace freezeprobe {

const char *cause_kind_name(CauseKind kind) {
    switch (kind) {
    case CauseKind::fuse:
        return "fuse";
    case CauseKind::block_io:
        return "block_io";
    case CauseKind::nfs:
        return "nfs";
    case CauseKind::lock:
        return "lock";
    case CauseKind::unknown:
        break;
    }
    return "unknown";
}

} // namespace freezeprobe
