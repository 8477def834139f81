// decode_record on ring-buffer bytes built by hand, the way the BPF programs fill them.
#include "records.h"

#include "freezeprobe_events.h"

#include <gtest/gtest.h>

#include <cstddef>
#include <cstring>
#include <string>
#include <vector>

namespace freezeprobe {
namespace {

template <typename T> std::vector<std::byte> bytes_of(const T &event) {
    std::vector<std::byte> out(sizeof(event));
    std::memcpy(out.data(), &event, sizeof(event));
    return out;
}

fp_io_event write_event() {
    fp_io_event e{};
    e.hdr.type = FP_EVENT_WRITE;
    e.hdr.cpu = 3;
    e.hdr.time_ns = 123456789012ull;
    e.latency_ns = 4567;
    e.cgroup_id = 0x1234567890ull;
    e.ret = 7;
    e.count = 7;
    e.pid = 4242;
    e.tid = 4243;
    e.dev = (0u << 20) | 34u;
    e.file = FP_FILE_FREEZER_STATE;
    e.cgroup_version = 1;
    std::memcpy(e.comm, "runc:[2:INIT]", sizeof("runc:[2:INIT]"));
    std::memcpy(e.data, "FROZEN\n", 7);
    e.data_len = 7;
    return e;
}

fp_cgroup_event cgroup_event(std::uint32_t op) {
    fp_cgroup_event e{};
    e.hdr.type = FP_EVENT_CGROUP;
    e.hdr.time_ns = 987654321ull;
    e.cgroup_id = 77;
    e.hierarchy_id = 6;
    e.level = 2;
    e.op = op;
    e.val = 1;
    e.pid = 10;
    e.tid = 11;
    e.task_pid = 20;
    e.task_tid = 21;
    std::memcpy(e.comm, "runc", 5);
    std::memcpy(e.task_comm, "sleep", 6);
    const std::string path = "/kubepods/burstable/pod1/abc";
    std::memcpy(e.path, path.data(), path.size());
    e.path_len = static_cast<std::uint32_t>(path.size());
    return e;
}

IoRecord decode_write(const fp_io_event &e) {
    auto r = decode_record(bytes_of(e));
    EXPECT_TRUE(r.has_value());
    if (!r)
        return {};
    EXPECT_TRUE(std::holds_alternative<IoRecord>(*r));
    return std::get<IoRecord>(*r);
}

CgroupRecord decode_cgroup(const fp_cgroup_event &e) {
    auto r = decode_record(bytes_of(e));
    EXPECT_TRUE(r.has_value());
    if (!r)
        return {};
    EXPECT_TRUE(std::holds_alternative<CgroupRecord>(*r));
    return std::get<CgroupRecord>(*r);
}

TEST(EventDecoder, WriteCopiesEveryField) {
    auto r = decode_write(write_event());
    EXPECT_EQ(r.mono_ns, 123456789012ull);
    EXPECT_EQ(r.latency_ns, 4567u);
    EXPECT_EQ(r.cgroup_id, 0x1234567890ull);
    EXPECT_EQ(r.ret, 7);
    EXPECT_EQ(r.count, 7u);
    EXPECT_EQ(r.pid, 4242u);
    EXPECT_EQ(r.tid, 4243u);
    EXPECT_EQ(r.dev, 34u);
    EXPECT_EQ(r.file, ControlFile::freezer_state);
    EXPECT_EQ(r.cgroup_version, 1);
    EXPECT_FALSE(r.data_fault);
    EXPECT_EQ(r.comm, "runc:[2:INIT]");
    EXPECT_EQ(r.data, "FROZEN\n");
}

TEST(EventDecoder, WriteNegativeRetIsKept) {
    auto e = write_event();
    e.ret = -22;
    EXPECT_EQ(decode_write(e).ret, -22);
}

TEST(EventDecoder, WriteFileKinds) {
    struct Row {
        std::uint16_t raw;
        ControlFile file;
    };
    const Row rows[] = {
        {FP_FILE_UNKNOWN, ControlFile::unknown},
        {FP_FILE_FREEZER_STATE, ControlFile::freezer_state},
        {FP_FILE_CGROUP_FREEZE, ControlFile::cgroup_freeze},
        {FP_FILE_CGROUP_PROCS, ControlFile::cgroup_procs},
        {FP_FILE_TASKS, ControlFile::tasks},
        {FP_FILE_CGROUP_THREADS, ControlFile::cgroup_threads},
        {999, ControlFile::unknown},
    };
    for (const auto &row : rows) {
        auto e = write_event();
        e.file = row.raw;
        EXPECT_EQ(decode_write(e).file, row.file) << "raw file " << row.raw;
    }
}

TEST(EventDecoder, CommWithoutNulAtCapacity) {
    auto e = write_event();
    std::memset(e.comm, 'c', sizeof(e.comm)); // no NUL: the decoder must stop at the array end
    EXPECT_EQ(decode_write(e).comm, std::string(FP_COMM_LEN, 'c'));
}

TEST(EventDecoder, DataKeepsEmbeddedBytesUpToDataLen) {
    auto e = write_event();
    std::memcpy(e.data, "1\0\0x", 4);
    e.data_len = 2; // "1\0": what was written, NULs included; trimming is a later stage's job
    EXPECT_EQ(decode_write(e).data, std::string("1\0", 2));
}

TEST(EventDecoder, DataLenAboveCapacityIsClamped) {
    auto e = write_event();
    std::memset(e.data, 'd', sizeof(e.data));
    e.data_len = 4096;
    EXPECT_EQ(decode_write(e).data, std::string(FP_DATA_LEN, 'd'));
}

TEST(EventDecoder, DataFaultFlag) {
    auto e = write_event();
    e.flags = FP_WRITE_DATA_FAULT;
    e.data_len = 0;
    auto r = decode_write(e);
    EXPECT_TRUE(r.data_fault);
    EXPECT_EQ(r.data, "");
}

TEST(EventDecoder, UnknownFlagBitsAreNotAFault) {
    auto e = write_event();
    e.flags = 0x80;
    EXPECT_FALSE(decode_write(e).data_fault);
}

TEST(EventDecoder, CgroupCopiesEveryField) {
    auto r = decode_cgroup(cgroup_event(FP_CG_ATTACH_TASK));
    EXPECT_EQ(r.mono_ns, 987654321ull);
    EXPECT_EQ(r.cgroup_id, 77u);
    EXPECT_EQ(r.hierarchy_id, 6);
    EXPECT_EQ(r.level, 2);
    EXPECT_EQ(r.op, CgroupOp::attach_task);
    EXPECT_EQ(r.val, 1);
    EXPECT_EQ(r.pid, 10u);
    EXPECT_EQ(r.tid, 11u);
    EXPECT_EQ(r.task_pid, 20u);
    EXPECT_EQ(r.task_tid, 21u);
    EXPECT_EQ(r.comm, "runc");
    EXPECT_EQ(r.task_comm, "sleep");
    EXPECT_EQ(r.path, "/kubepods/burstable/pod1/abc");
}

TEST(EventDecoder, CgroupOps) {
    struct Row {
        std::uint32_t raw;
        CgroupOp op;
    };
    const Row rows[] = {
        {FP_CG_FREEZE, CgroupOp::freeze},
        {FP_CG_UNFREEZE, CgroupOp::unfreeze},
        {FP_CG_NOTIFY_FROZEN, CgroupOp::notify_frozen},
        {FP_CG_ATTACH_TASK, CgroupOp::attach_task},
        {FP_CG_MKDIR, CgroupOp::mkdir},
        {FP_CG_RMDIR, CgroupOp::rmdir},
        {FP_CG_RELEASE, CgroupOp::release},
    };
    for (const auto &row : rows)
        EXPECT_EQ(decode_cgroup(cgroup_event(row.raw)).op, row.op) << "raw op " << row.raw;
}

TEST(EventDecoder, CgroupNegativeHierarchyAndVal) {
    auto e = cgroup_event(FP_CG_NOTIFY_FROZEN);
    e.hierarchy_id = 0; // v2
    e.val = -1;
    auto r = decode_cgroup(e);
    EXPECT_EQ(r.hierarchy_id, 0);
    EXPECT_EQ(r.val, -1);
}

TEST(EventDecoder, CgroupCommsWithoutNulAtCapacity) {
    auto e = cgroup_event(FP_CG_MKDIR);
    std::memset(e.comm, 'a', sizeof(e.comm));
    std::memset(e.task_comm, 'b', sizeof(e.task_comm));
    auto r = decode_cgroup(e);
    EXPECT_EQ(r.comm, std::string(FP_COMM_LEN, 'a'));
    EXPECT_EQ(r.task_comm, std::string(FP_COMM_LEN, 'b'));
}

TEST(EventDecoder, PathLenAboveCapacityIsClamped) {
    auto e = cgroup_event(FP_CG_MKDIR);
    std::memset(e.path, 'p', sizeof(e.path));
    e.path_len = 0xffffffffu;
    EXPECT_EQ(decode_cgroup(e).path, std::string(FP_PATH_LEN, 'p'));
}

TEST(EventDecoder, UnreadablePathIsEmpty) {
    auto e = cgroup_event(FP_CG_RMDIR);
    e.path_len = 0;
    EXPECT_EQ(decode_cgroup(e).path, "");
}

TEST(EventDecoder, UnknownCgroupOpIsRejected) {
    for (std::uint32_t op : {0u, 8u, 0xffffffffu})
        EXPECT_FALSE(decode_record(bytes_of(cgroup_event(op)))) << "op " << op;
}

TEST(EventDecoder, ReadRecordIsDecodedAsRead) {
    auto r = write_event();
    r.hdr.type = FP_EVENT_READ;
    auto decoded = decode_record(bytes_of(r));
    ASSERT_TRUE(decoded);
    EXPECT_TRUE(std::get<IoRecord>(*decoded).is_read);
    auto w = decode_record(bytes_of(write_event()));
    ASSERT_TRUE(w);
    EXPECT_FALSE(std::get<IoRecord>(*w).is_read);
}

TEST(EventDecoder, UnknownTypeIsRejected) {
    for (std::uint32_t type : {0u, 4u, 0xffffffffu}) {
        auto w = write_event();
        w.hdr.type = type;
        EXPECT_FALSE(decode_record(bytes_of(w))) << "type " << type;
        auto c = cgroup_event(FP_CG_MKDIR);
        c.hdr.type = type;
        EXPECT_FALSE(decode_record(bytes_of(c))) << "type " << type;
    }
}

TEST(EventDecoder, CgroupRecordEndsWithItsPath) {
    // The kernel side sends the fixed part and the path's bytes plus its NUL, no more.
    auto e = cgroup_event(FP_CG_MKDIR);
    auto bytes = bytes_of(e);
    bytes.resize(offsetof(fp_cgroup_event, path) + e.path_len + 1);
    auto r = decode_record(bytes);
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<CgroupRecord>(*r).path, "/kubepods/burstable/pod1/abc");

    // A path_len beyond the bytes received is cut at the record's end.
    bytes.resize(offsetof(fp_cgroup_event, path) + 4);
    r = decode_record(bytes);
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<CgroupRecord>(*r).path, "/kub");

    // No path at all.
    bytes.resize(offsetof(fp_cgroup_event, path));
    r = decode_record(bytes);
    ASSERT_TRUE(r);
    EXPECT_EQ(std::get<CgroupRecord>(*r).path, "");
}

TEST(EventDecoder, ShortBuffersAreRejected) {
    EXPECT_FALSE(decode_record({}));

    auto header = bytes_of(write_event());
    header.resize(sizeof(fp_event_header) - 1);
    EXPECT_FALSE(decode_record(header));

    auto w = bytes_of(write_event());
    w.pop_back();
    EXPECT_FALSE(decode_record(w));

    auto c = bytes_of(cgroup_event(FP_CG_MKDIR));
    c.resize(offsetof(fp_cgroup_event, path) - 1);
    EXPECT_FALSE(decode_record(c));

    // A write header followed by a cgroup-sized body is still a write.
    auto longer = bytes_of(write_event());
    longer.resize(sizeof(fp_cgroup_event));
    auto r = decode_record(longer);
    ASSERT_TRUE(r);
    EXPECT_TRUE(std::holds_alternative<IoRecord>(*r));
}

TEST(EventDecoder, FileNames) {
    EXPECT_STREQ(file_name(ControlFile::freezer_state), "freezer.state");
    EXPECT_STREQ(file_name(ControlFile::cgroup_freeze), "cgroup.freeze");
    EXPECT_STREQ(file_name(ControlFile::cgroup_procs), "cgroup.procs");
    EXPECT_STREQ(file_name(ControlFile::tasks), "tasks");
    EXPECT_STREQ(file_name(ControlFile::cgroup_threads), "cgroup.threads");
    EXPECT_STREQ(file_name(ControlFile::unknown), "unknown");
    EXPECT_TRUE(is_freeze_file(ControlFile::freezer_state));
    EXPECT_TRUE(is_freeze_file(ControlFile::cgroup_freeze));
    EXPECT_FALSE(is_freeze_file(ControlFile::cgroup_procs));
    EXPECT_FALSE(is_freeze_file(ControlFile::tasks));
    EXPECT_FALSE(is_freeze_file(ControlFile::unknown));
}

} // namespace
} // namespace freezeprobe
