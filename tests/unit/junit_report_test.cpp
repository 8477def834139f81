// The JUnit report: well-formed for any input bytes (checked by xmllint, a real XML parser), one
// testcase per cgroup plus "events", one <failure> per recorded failure.
#include "junit_report.h"

#include "sample_events.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>
#include <vector>

namespace freezeprobe {
namespace {

using namespace samples;

const std::string fffd = "\xef\xbf\xbd";

Event aborted(const CgroupRef &c, std::string diagnosis) {
    return Event{t_ns, c,
                 FreezeEpisode{EpisodeOutcome::aborted, 1, {}, {}, {}, std::move(diagnosis)}};
}

// Writes the document to a file and asks xmllint about it.
class Xml {
  public:
    explicit Xml(const std::string &text) {
        char dir[] = "/tmp/junit_test.XXXXXX";
        EXPECT_NE(::mkdtemp(dir), nullptr);
        dir_ = dir;
        path_ = dir_ + "/junit_freezeprobe.xml";
        std::ofstream(path_, std::ios::binary) << text;
    }
    ~Xml() {
        std::remove(path_.c_str());
        ::rmdir(dir_.c_str());
    }
    // xmllint's complaints; empty when the document is well-formed.
    std::string lint() const {
        std::string out;
        int rc = run("xmllint --noout '" + path_ + "' 2>&1", out);
        return rc == 0 ? "" : out.empty() ? "xmllint failed" : out;
    }
    std::string xpath(const std::string &expr) const {
        std::string out;
        run("xmllint --xpath \"concat('[', " + expr + ", ']')\" '" + path_ + "'", out);
        auto first = out.find('['), last = out.rfind(']');
        return first == std::string::npos || last == std::string::npos
                   ? "<no result: " + out + ">"
                   : out.substr(first + 1, last - first - 1);
    }

  private:
    static int run(const std::string &command, std::string &out) {
        FILE *p = ::popen(command.c_str(), "r");
        if (!p)
            return -1;
        char buf[4096];
        for (std::size_t n; (n = std::fread(buf, 1, sizeof(buf), p)) > 0;)
            out.append(buf, n);
        return ::pclose(p);
    }
    std::string dir_, path_;
};

class JunitReport : public testing::Test {
  protected:
    void SetUp() override {
        ASSERT_EQ(std::system("command -v xmllint >/dev/null 2>&1"), 0)
            << "xmllint missing: install libxml2-utils (tools/setup.sh)";
    }
};

TEST_F(JunitReport, OneTestcasePerCgroupAndOneFailurePerFailure) {
    Aggregator a;
    a.add(Event{t_ns, v1_container(), FreezeWrite{"FROZEN", 22, 100, Task{1, 1, "runc"}}});
    a.add(aborted(v1_container(), "Freeze of container 1c5b was given up.\nMore detail."));
    a.add(
        Event{t_ns, v2_plain(), FreezeEpisode{EpisodeOutcome::frozen, 2'000'000, {}, {}, {}, ""}});
    auto text = junit_xml(a, run_info(2'500'000'000));
    EXPECT_TRUE(text.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"));
    Xml xml(text);
    ASSERT_EQ(xml.lint(), "") << text;
    EXPECT_EQ(xml.xpath("count(/testsuites/testsuite)"), "1");
    EXPECT_EQ(xml.xpath("count(//testcase)"), "3");
    EXPECT_EQ(xml.xpath("count(//failure)"), "2");
    EXPECT_EQ(xml.xpath("string(//testsuite/@name)"), "freezeprobe");
    EXPECT_EQ(xml.xpath("string(//testsuite/@tests)"), "3");
    EXPECT_EQ(xml.xpath("string(//testsuite/@failures)"), "1"); // failing testcases
    EXPECT_EQ(xml.xpath("string(//testsuite/@errors)"), "0");
    EXPECT_EQ(xml.xpath("string(//testsuite/@time)"), "2.500000");
    EXPECT_EQ(xml.xpath("string(//testsuite/@timestamp)"), "2023-11-14T22:13:20");
    EXPECT_EQ(xml.xpath("string(//testsuites/@tests)"), "3");
    EXPECT_EQ(xml.xpath("string(//property[@name='attach_mode']/@value)"), "tracepoint");
    EXPECT_EQ(xml.xpath("string(//property[@name='events_lost']/@value)"), "0");

    // v1 first; named by container id; the pod uid in system-out.
    EXPECT_EQ(xml.xpath("string(//testcase[1]/@classname)"), "freezeprobe.v1");
    EXPECT_EQ(xml.xpath("string(//testcase[1]/@name)"), container_id);
    EXPECT_NE(xml.xpath("string(//testcase[1]/system-out)").find("pod_uid: " + pod_uid),
              std::string::npos);
    EXPECT_EQ(xml.xpath("string(//testcase[1]/failure[1]/@type)"), "write-error");
    EXPECT_EQ(xml.xpath("string(//testcase[1]/failure[2]/@type)"), "aborted");
    EXPECT_EQ(xml.xpath("string(//testcase[1]/failure[2]/@message)"),
              "Freeze of container 1c5b was given up.");
    EXPECT_EQ(xml.xpath("string(//testcase[1]/failure[2])"),
              "Freeze of container 1c5b was given up.\nMore detail.");

    // v2 without a container: named by path, passes, time = time spent freezing.
    EXPECT_EQ(xml.xpath("string(//testcase[2]/@classname)"), "freezeprobe.v2");
    EXPECT_EQ(xml.xpath("string(//testcase[2]/@name)"), "/system.slice/test.service");
    EXPECT_EQ(xml.xpath("string(//testcase[2]/@time)"), "0.002000");
    EXPECT_EQ(xml.xpath("count(//testcase[2]/failure)"), "0");

    EXPECT_EQ(xml.xpath("string(//testcase[3]/@name)"), "events");
    EXPECT_EQ(xml.xpath("count(//testcase[3]/failure)"), "0");
}

TEST_F(JunitReport, TestcaseNamedByKubernetesNames) {
    auto cgroup = v1_container();
    cgroup.container->namespace_name = "shop";
    cgroup.container->pod_name = "web-0";
    cgroup.container->name = "nginx";
    cgroup.container->sandbox = false;
    Aggregator a;
    a.add(aborted(cgroup, "Freeze of container shop/web-0/nginx was given up."));
    Xml xml(junit_xml(a, run_info(1'000'000'000)));
    ASSERT_EQ(xml.lint(), "");
    EXPECT_EQ(xml.xpath("string(//testcase[1]/@name)"), "shop/web-0/nginx");
    auto out = xml.xpath("string(//testcase[1]/system-out)");
    EXPECT_NE(out.find("container: " + container_id), std::string::npos) << out;
    EXPECT_NE(out.find("namespace: shop\npod: web-0\ncontainer name: nginx\nsandbox: no\n"),
              std::string::npos)
        << out;
}

// Some CI systems reject a suite without testcases: "events" is always there.
TEST_F(JunitReport, NoCgroupsStillOnePassingTestcase) {
    auto text = junit_xml(Aggregator{}, run_info(2'500'000'000));
    Xml xml(text);
    ASSERT_EQ(xml.lint(), "") << text;
    EXPECT_EQ(xml.xpath("string(//testsuite/@tests)"), "1");
    EXPECT_EQ(xml.xpath("string(//testsuite/@failures)"), "0");
    EXPECT_EQ(xml.xpath("count(//testcase)"), "1");
    EXPECT_EQ(xml.xpath("count(//failure)"), "0");
    EXPECT_EQ(xml.xpath("string(//testcase/@classname)"), "freezeprobe");
}

TEST_F(JunitReport, LostEventsFailTheEventsTestcase) {
    Aggregator a;
    a.add(Event{t_ns, std::nullopt, Lost{42}});
    Xml xml(junit_xml(a, run_info(2'500'000'000)));
    ASSERT_EQ(xml.lint(), "");
    EXPECT_EQ(xml.xpath("string(//testsuite/@failures)"), "1");
    EXPECT_EQ(xml.xpath("string(//testcase[@name='events']/failure/@type)"), "lost");
    EXPECT_EQ(xml.xpath("string(//testcase[@name='events']/failure/@message)"), "42 events lost");
}

TEST_F(JunitReport, DroppedFailuresAreSaid) {
    Aggregator a;
    for (std::size_t i = 0; i < Aggregator::max_failures + 5; ++i)
        a.add(Event{t_ns, v2_plain(), FreezeWrite{"1", 16, 1, Task{}}});
    Xml xml(junit_xml(a, run_info(2'500'000'000)));
    ASSERT_EQ(xml.lint(), "");
    EXPECT_EQ(xml.xpath("count(//testcase[1]/failure)"),
              std::to_string(Aggregator::max_failures + 1));
    EXPECT_EQ(xml.xpath("string(//testcase[1]/failure[last()]/@type)"), "dropped");
    EXPECT_EQ(xml.xpath("substring-before(//testcase[1]/failure[last()]/@message, ' ')"), "5");
}

TEST_F(JunitReport, SameContainerInTwoHierarchiesGetsTwoNames) {
    Aggregator a;
    a.add(Event{t_ns, v1_container("freezer"), FreezeWrite{"FROZEN", 0, 1, Task{}}});
    a.add(Event{t_ns, v1_container("cpu,cpuacct"),
                ProcsWrite{ControlFile::cgroup_procs, "1", 1, 0, 1, Task{}, false}});
    Xml xml(junit_xml(a, run_info(2'500'000'000)));
    ASSERT_EQ(xml.lint(), "");
    auto first = xml.xpath("string(//testcase[1]/@name)");
    auto second = xml.xpath("string(//testcase[2]/@name)");
    EXPECT_NE(first, second);
    EXPECT_TRUE(first.starts_with(container_id)) << first;
    EXPECT_NE(first.find("cpu,cpuacct:"), std::string::npos) << first;
}

// Cgroup names are hostile input: without escaping, each of these breaks the document.
TEST_F(JunitReport, HostileNamesAreEscapedOrReplaced) {
    const std::vector<std::pair<std::string, std::string>> names = {
        // input, what a parser must read back
        {"/a<b>&c\"d'e", "/a<b>&c\"d'e"},
        {"/</testcase><testcase name=\"x\">", "/</testcase><testcase name=\"x\">"},
        {"/ctl\x01\x1b[2J\x7f", "/ctl" + fffd + fffd + "[2J\x7f"},
        {"/nl\nand\ttab", "/nl\nand\ttab"},
        {"/bad\xff\xfe", "/bad" + fffd + fffd},
        {"/trunc\xc3", "/trunc" + fffd},
        {"/surrogate\xed\xa0\x80", "/surrogate" + fffd + fffd + fffd},
        {"/nonchar\xef\xbf\xbe", "/nonchar" + fffd},
        {"/caf\xc3\xa9\xf0\x9f\x98\x80", "/caf\xc3\xa9\xf0\x9f\x98\x80"},
        {"/]]>", "/]]>"},
    };
    Aggregator a;
    std::uint64_t id = 100;
    for (auto &[name, _] : names)
        a.add(aborted(v2_plain(name, id++), "cgroup " + name + " <is> &stuck\x02"));
    auto run = run_info(2'500'000'000);
    run.kernel = "6.1\x01<&>\xff";
    run.command = {"sh", "-c", "echo '\"'"};
    auto text = junit_xml(a, run);
    Xml xml(text);
    ASSERT_EQ(xml.lint(), "") << text;
    EXPECT_EQ(xml.xpath("count(//testcase)"), std::to_string(names.size() + 1));
    EXPECT_EQ(xml.xpath("count(//failure)"), std::to_string(names.size()));
    std::vector<std::string> got;
    for (std::size_t i = 1; i <= names.size(); ++i)
        got.push_back(xml.xpath("string(//testcase[" + std::to_string(i) + "]/@name)"));
    for (auto &[name, want] : names)
        EXPECT_NE(std::find(got.begin(), got.end(), want), got.end())
            << testing::PrintToString(want);
    EXPECT_EQ(xml.xpath("string(//property[@name='kernel']/@value)"), "6.1" + fffd + "<&>" + fffd);
    EXPECT_EQ(xml.xpath("string(//property[@name='command']/@value)"), "sh -c echo '\"'");
}

TEST(XmlEscape, Table) {
    EXPECT_EQ(xml_escape("plain /a.b-c_d"), "plain /a.b-c_d");
    EXPECT_EQ(xml_escape("&<>\"'"), "&amp;&lt;&gt;&quot;&apos;");
    EXPECT_EQ(xml_escape("\t\n\r"), "&#9;&#10;&#13;");
    EXPECT_EQ(xml_escape(std::string("a\0b", 3)), "a" + fffd + "b");
    EXPECT_EQ(xml_escape("\x1f\x0b"), fffd + fffd);
    EXPECT_EQ(xml_escape("\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80"),
              "\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80");
    EXPECT_EQ(xml_escape("\xef\xbf\xbd"), fffd);    // U+FFFD itself is fine
    EXPECT_EQ(xml_escape("\xef\xbf\xbf"), fffd);    // U+FFFF is not an XML character
    EXPECT_EQ(xml_escape("\xc0\xaf"), fffd + fffd); // overlong
    EXPECT_EQ(xml_escape("\xf4\x90\x80\x80"), fffd + fffd + fffd + fffd); // above U+10FFFF
    EXPECT_EQ(xml_escape("\xe2\x82"), fffd);    // truncated: one per sequence (utf8.h)
    EXPECT_EQ(xml_escape("\x80x"), fffd + "x"); // lone continuation
    EXPECT_EQ(xml_escape(""), "");
}

TEST_F(JunitReport, LongMessagesAreShortenedOnACharacterBoundary) {
    std::string line;
    for (int i = 0; i < 150; ++i)
        line += "\xc3\xa9"
                "a"; // 300 characters, 450 bytes
    Aggregator a;
    a.add(aborted(v2_plain(), line + "\nsecond line"));
    Xml xml(junit_xml(a, run_info(2'500'000'000)));
    ASSERT_EQ(xml.lint(), "");
    auto message = xml.xpath("string(//failure/@message)");
    EXPECT_EQ(xml.xpath("string-length(//failure/@message)"), "200");
    EXPECT_TRUE(message.ends_with("\xe2\x80\xa6")) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos);
    EXPECT_EQ(xml.xpath("string-length(//failure)"), std::to_string(300 + 1 + 11));

    // Exactly 200 characters: kept whole.
    Aggregator b;
    b.add(aborted(v2_plain(), std::string(200, 'x')));
    Xml whole(junit_xml(b, run_info(2'500'000'000)));
    EXPECT_EQ(whole.xpath("string(//failure/@message)"), std::string(200, 'x'));
}

} // namespace
} // namespace freezeprobe
