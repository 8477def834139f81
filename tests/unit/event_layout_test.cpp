// Pins the layout of the records the BPF programs put in the ring buffer. The BPF object is
// compiled by clang for the BPF target and the loader by the host compiler; if the two ever
// disagree on a size or an offset, every decoded field after it is garbage. Changing the
// layout on purpose means changing these numbers in the same commit as the header.
#include "freezeprobe_events.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

namespace {

// Pins one field's offset and size, and keeps 64-bit fields on 8-byte boundaries with explicit
// padding only: BPF aligns __u64 to 8 but some ABIs (i386) to 4, so implicit padding differs.
#define FP_PIN(type, field, offset, size)                                                          \
    static_assert(offsetof(type, field) == (offset), #type "." #field " moved");                   \
    static_assert(sizeof(type::field) == (size), #type "." #field " changed size");                \
    static_assert(sizeof(type::field) != 8 || offsetof(type, field) % 8 == 0,                      \
                  #type "." #field " is a 64-bit field off an 8-byte boundary")

FP_PIN(fp_event_header, type, 0, 4);
FP_PIN(fp_event_header, cpu, 4, 4);
FP_PIN(fp_event_header, time_ns, 8, 8);
static_assert(sizeof(fp_event_header) == 16);

FP_PIN(fp_io_event, hdr, 0, 16);
FP_PIN(fp_io_event, latency_ns, 16, 8);
FP_PIN(fp_io_event, cgroup_id, 24, 8);
FP_PIN(fp_io_event, ret, 32, 8);
FP_PIN(fp_io_event, count, 40, 8);
FP_PIN(fp_io_event, pid, 48, 4);
FP_PIN(fp_io_event, tid, 52, 4);
FP_PIN(fp_io_event, dev, 56, 4);
FP_PIN(fp_io_event, file, 60, 2);
FP_PIN(fp_io_event, cgroup_version, 62, 2);
FP_PIN(fp_io_event, data_len, 64, 4);
FP_PIN(fp_io_event, flags, 68, 4);
FP_PIN(fp_io_event, comm, 72, FP_COMM_LEN);
FP_PIN(fp_io_event, data, 88, FP_DATA_LEN);
FP_PIN(fp_io_event, lock_wait_ns, 120, 8);
static_assert(sizeof(fp_io_event) == 128);

FP_PIN(fp_cgroup_event, hdr, 0, 16);
FP_PIN(fp_cgroup_event, cgroup_id, 16, 8);
FP_PIN(fp_cgroup_event, hierarchy_id, 24, 4);
FP_PIN(fp_cgroup_event, level, 28, 4);
FP_PIN(fp_cgroup_event, op, 32, 4);
FP_PIN(fp_cgroup_event, val, 36, 4);
FP_PIN(fp_cgroup_event, pid, 40, 4);
FP_PIN(fp_cgroup_event, tid, 44, 4);
FP_PIN(fp_cgroup_event, task_pid, 48, 4);
FP_PIN(fp_cgroup_event, task_tid, 52, 4);
FP_PIN(fp_cgroup_event, path_len, 56, 4);
FP_PIN(fp_cgroup_event, pad, 60, 4);
FP_PIN(fp_cgroup_event, comm, 64, FP_COMM_LEN);
FP_PIN(fp_cgroup_event, task_comm, 80, FP_COMM_LEN);
FP_PIN(fp_cgroup_event, path, 96, FP_PATH_LEN);
static_assert(sizeof(fp_cgroup_event) == 1120);

// No tail padding that one compiler might add and the other not.
static_assert(sizeof(fp_event_header) % 8 == 0);
static_assert(sizeof(fp_io_event) % 8 == 0);
static_assert(sizeof(fp_cgroup_event) % 8 == 0);
static_assert(alignof(fp_io_event) == 8);
static_assert(alignof(fp_cgroup_event) == 8);

// The header sits at offset 0 of every record, so the decoder can read it before the type.
static_assert(offsetof(fp_io_event, hdr) == 0 && offsetof(fp_cgroup_event, hdr) == 0);

// The numbers that travel in the records are part of the contract too.
static_assert(FP_COMM_LEN == 16 && FP_DATA_LEN == 32 && FP_PATH_LEN == 1024);
static_assert(FP_EVENT_WRITE == 1 && FP_EVENT_CGROUP == 2);
static_assert(FP_FILE_UNKNOWN == 0 && FP_FILE_FREEZER_STATE == 1 && FP_FILE_CGROUP_FREEZE == 2 &&
              FP_FILE_CGROUP_PROCS == 3 && FP_FILE_TASKS == 4 && FP_FILE_CGROUP_THREADS == 5);
static_assert(FP_CG_FREEZE == 1 && FP_CG_UNFREEZE == 2 && FP_CG_NOTIFY_FROZEN == 3 &&
              FP_CG_ATTACH_TASK == 4 && FP_CG_MKDIR == 5 && FP_CG_RMDIR == 6 && FP_CG_RELEASE == 7);
static_assert(FP_WRITE_DATA_FAULT == 1u);

// The static_asserts above are the test; this records the sizes in the test report (and fails
// loudly, not just at compile time, should someone weaken an assert).
TEST(EventLayout, RecordSizes) {
    ::testing::Test::RecordProperty("fp_event_header", std::to_string(sizeof(fp_event_header)));
    ::testing::Test::RecordProperty("fp_io_event", std::to_string(sizeof(fp_io_event)));
    ::testing::Test::RecordProperty("fp_cgroup_event", std::to_string(sizeof(fp_cgroup_event)));
    EXPECT_EQ(sizeof(fp_event_header), 16u);
    EXPECT_EQ(sizeof(fp_io_event), 128u);
    EXPECT_EQ(sizeof(fp_cgroup_event), 1120u);
    EXPECT_EQ(offsetof(fp_io_event, data), 88u);
    EXPECT_EQ(offsetof(fp_cgroup_event, path), 96u);
}

} // namespace
