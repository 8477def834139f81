// The layout of the records the BPF programs put in the ring buffer is pinned in
// bpf/event_layout.h, which the BPF programs include too: both compilers must agree with it, or
// the build fails. Including it here is the C++ side's check.
#include "event_layout.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <string>

namespace {

// The static_asserts of event_layout.h are the test; this records the sizes in the test report (and
// fails loudly, not just at compile time, should someone weaken an assert).
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
