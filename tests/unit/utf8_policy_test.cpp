// One invalid-UTF-8 policy for every output (util/utf8.h): JSON (lines and reports), Prometheus
// label values and JUnit XML put the same U+FFFD characters in the same places for the same
// hostile bytes, one per invalid sequence.
#include "json_writer.h"
#include "junit_report.h"
#include "prometheus_metrics.h"
#include "summary_report.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

namespace freezeprobe {
namespace {

const std::string fffd = "\xef\xbf\xbd";

struct Case {
    std::string raw, expected;
};

// Bytes that need no escape in any of the three formats, so that the outputs must be equal.
const Case cases[] = {
    {"\xff", fffd},
    {"\xff\xfe", fffd + fffd},                       // two invalid bytes: two
    {"\xe2\x82", fffd},                              // a truncated sequence: one
    {"a\xf0\x9f\x98z", "a" + fffd + "z"},            // a truncated 4-byte sequence: one
    {"\xed\xa0\x80", fffd + fffd + fffd},            // a surrogate: no valid prefix, one per byte
    {"\xc0\xaf", fffd + fffd},                       // an overlong form
    {"\xf4\x90\x80\x80", fffd + fffd + fffd + fffd}, // above U+10FFFF
    {"caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80"}, // valid: unchanged
    {"\xe2\x82\xe2\x82\xac", fffd + "\xe2\x82\xac"}, // the second lead byte is read again
};

std::string json_content(const std::string &raw) {
    std::string out;
    append_json_string(out, raw);
    return out.substr(1, out.size() - 2); // without the quotes
}

TEST(Utf8Policy, JsonPrometheusAndXmlReplaceTheSameSequences) {
    for (auto &c : cases) {
        EXPECT_EQ(json_content(c.raw), c.expected)
            << "JSON, case " << testing::PrintToString(c.raw);
        EXPECT_EQ(prometheus_label_value(c.raw), c.expected)
            << "Prometheus, case " << testing::PrintToString(c.raw);
        EXPECT_EQ(xml_escape(c.raw), c.expected) << "XML, case " << testing::PrintToString(c.raw);
    }
}

// The summary report is written by nlohmann::json with its replace handler: the same policy.
TEST(Utf8Policy, NlohmannReportsAgree) {
    for (auto &c : cases) {
        auto dumped =
            nlohmann::json(c.raw).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
        EXPECT_EQ(dumped.substr(1, dumped.size() - 2), c.expected)
            << "case " << testing::PrintToString(c.raw);
    }
}

} // namespace
} // namespace freezeprobe
