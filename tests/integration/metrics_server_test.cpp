// `--metrics HOST:PORT`: the /metrics server on loopback, its answers to good and bad requests,
// its failures at construction (so that freezeprobe fails before attaching anything), and a real
// Prometheus server scraping it. Needs no root: the Prometheus test needs the `prometheus` binary
// (Debian package prometheus), which must be there under CI=true and is skipped for elsewhere.
#include "http_get.h"
#include "metrics_server.h"
#include "probe_harness.h"
#include "process.h"
#include "prometheus_metrics.h"
#include "read_file.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <netinet/in.h>
#include <poll.h>
#include <sstream>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe {
namespace {

using namespace std::chrono_literals;
using testing::http_exchange;
using testing::http_get;
using testing::HttpResponse;
using testing::running_in_ci;

int port_of(const std::string &address) {
    return std::stoi(address.substr(address.rfind(':') + 1));
}

// GET target from the server on 127.0.0.1; the reason for a failure goes into the test's output.
std::optional<HttpResponse> get(const MetricsServer &server, const std::string &target) {
    std::string error;
    auto res = http_get("127.0.0.1", port_of(server.address()), target, 2000, &error);
    if (!res)
        ADD_FAILURE() << "GET " << target << ": " << error;
    return res;
}

// Sends raw bytes and returns the whole raw response (the server closes after each one).
std::string send_raw(const MetricsServer &server, const std::string &request) {
    std::string error;
    auto raw = http_exchange("127.0.0.1", port_of(server.address()), request, 3000, &error);
    if (!raw)
        ADD_FAILURE() << "exchange: " << error;
    return raw.value_or("");
}

int status_of(const std::string &raw) {
    auto res = testing::parse_http_response(raw);
    return res ? res->status : -1;
}

TEST(ParseHostPort, Table) {
    using Result = std::optional<std::pair<std::string, int>>;
    struct Case {
        std::string in;
        Result out;
    } cases[] = {
        {"127.0.0.1:9101", std::pair{"127.0.0.1", 9101}},
        {"localhost:9101", std::pair{"127.0.0.1", 9101}},
        {"LocalHost:9101", std::pair{"127.0.0.1", 9101}},
        {"[::1]:9101", std::pair{"::1", 9101}},
        {"[::]:9101", std::pair{"::", 9101}},
        {"0.0.0.0:9101", std::pair{"0.0.0.0", 9101}},
        {":9101", std::pair{"127.0.0.1", 9101}},
        {"[::ffff:127.0.0.1]:9101", std::pair{"::ffff:127.0.0.1", 9101}},
        // Host names would need NSS to resolve, which the static binary does not have.
        {"node-1.example.com:80", std::nullopt},
        {"1.2.3:80", std::nullopt},      // inet_aton would take it; inet_pton does not
        {"0x7f.0.0.1:80", std::nullopt}, // likewise
        {"256.0.0.1:80", std::nullopt},
        {"127.0.0.1:0", std::pair{"127.0.0.1", 0}},
        {"127.0.0.1:65535", std::pair{"127.0.0.1", 65535}},
        {"127.0.0.1:65536", std::nullopt},
        {"127.0.0.1:99999999999", std::nullopt},
        {"127.0.0.1:-1", std::nullopt},
        {"127.0.0.1:+80", std::nullopt},
        {"127.0.0.1: 80", std::nullopt},
        {"127.0.0.1:", std::nullopt},
        {"127.0.0.1:http", std::nullopt},
        {"127.0.0.1", std::nullopt},
        {"9101", std::nullopt},
        {"", std::nullopt},
        {":", std::nullopt},
        {"::1:9101", std::nullopt}, // IPv6 needs brackets
        {"[::1]9101", std::nullopt},
        {"[::1]:", std::nullopt},
        {"[]:9101", std::nullopt},
        {"[not-v6]:9101", std::nullopt},
        {"[127.0.0.1]:9101", std::nullopt},
        {"host name:9101", std::nullopt},
        {"host/x:9101", std::nullopt},
        {"http://127.0.0.1:9101", std::nullopt},
    };
    for (auto &c : cases)
        EXPECT_EQ(parse_host_port(c.in), c.out) << '"' << c.in << '"';
}

TEST(MetricsServer, ServesTheRenderedTextAtMetricsOnly) {
    std::atomic<int> renders{0};
    MetricsServer server("127.0.0.1:0", [&] {
        return "# TYPE test_renders_total counter\ntest_renders_total " +
               std::to_string(++renders) + "\n";
    });
    EXPECT_TRUE(server.address().starts_with("127.0.0.1:"));
    EXPECT_GT(port_of(server.address()), 0);

    auto res = get(server, "/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "# TYPE test_renders_total counter\ntest_renders_total 1\n");
    EXPECT_EQ(res->headers["content-type"], "text/plain; version=0.0.4; charset=utf-8");
    EXPECT_EQ(res->headers["content-length"], std::to_string(res->body.size()));
    EXPECT_EQ(res->headers["connection"], "close");
    res = get(server, "/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "# TYPE test_renders_total counter\ntest_renders_total 2\n");

    for (auto path : {"/", "/metrics/", "/metric", "/metricsx", "/favicon.ico", "/x?/metrics"}) {
        res = get(server, path);
        ASSERT_TRUE(res) << path;
        EXPECT_EQ(res->status, 404) << path;
        EXPECT_EQ(res->body, "404 Not Found\n") << path;
        EXPECT_EQ(res->headers["connection"], "close") << path;
    }
    EXPECT_EQ(renders, 2);
}

TEST(MetricsServer, IgnoresTheQueryStringAndAnswersHeadAndHttp10) {
    std::atomic<int> renders{0};
    MetricsServer server("127.0.0.1:0", [&] {
        ++renders;
        return std::string("x 1\n");
    });
    auto res = get(server, "/metrics?name[]=x&debug=1");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "x 1\n");

    // HEAD: the same headers, Content-Length included, and no body.
    auto raw = send_raw(server, "HEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_TRUE(raw.starts_with("HTTP/1.1 200 OK\r\n")) << raw;
    EXPECT_NE(raw.find("\r\nContent-Length: 4\r\n"), std::string::npos) << raw;
    EXPECT_NE(raw.find("\r\nContent-Type: text/plain; version=0.0.4; charset=utf-8\r\n"),
              std::string::npos)
        << raw;
    EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;
    raw = send_raw(server, "HEAD /nothing HTTP/1.1\r\n\r\n");
    EXPECT_TRUE(raw.starts_with("HTTP/1.1 404 Not Found\r\n")) << raw;
    EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;

    raw = send_raw(server, "GET /metrics HTTP/1.0\r\n\r\n");
    EXPECT_EQ(status_of(raw), 200) << raw;
    EXPECT_TRUE(raw.ends_with("\r\n\r\nx 1\n")) << raw;
    EXPECT_EQ(renders, 3);
}

TEST(MetricsServer, OtherMethodsAre405) {
    std::atomic<int> renders{0};
    MetricsServer server("127.0.0.1:0", [&] {
        ++renders;
        return std::string("x 1\n");
    });
    for (std::string method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE"}) {
        // POST with a body the server never reads: it must still deliver the whole answer.
        auto raw = send_raw(server, method + " /metrics HTTP/1.1\r\nHost: x\r\n" +
                                        "Content-Length: 5\r\n\r\nhello");
        auto res = testing::parse_http_response(raw);
        ASSERT_TRUE(res) << method << ": " << raw;
        EXPECT_EQ(res->status, 405) << method;
        EXPECT_EQ(res->headers["allow"], "GET, HEAD") << method;
        EXPECT_EQ(res->body, "405 Method Not Allowed\n") << method;
    }
    EXPECT_EQ(renders, 0);
}

TEST(MetricsServer, MalformedRequestsAre400) {
    std::atomic<int> renders{0};
    MetricsServer server("127.0.0.1:0", [&] {
        ++renders;
        return std::string("x 1\n");
    });
    for (std::string line : {
             "garbage",
             "",
             "GET",
             "GET /metrics",
             "GET  /metrics HTTP/1.1",
             "GET /metrics  HTTP/1.1",
             "GET metrics HTTP/1.1",
             "GET /metrics HTTP/2.0",
             "GET /metrics HTTP/1.1 extra",
             "GET /metrics http/1.1",
             "get /metrics HTTP/1.1",
             "G\x01T /metrics HTTP/1.1",
             "GET /met\x7frics HTTP/1.1",
             "GET /met\trics HTTP/1.1",
         }) {
        auto raw = send_raw(server, line + "\r\nHost: x\r\n\r\n");
        EXPECT_EQ(status_of(raw), 400) << '"' << line << "\": " << raw;
    }
    // 8 KiB of headers at most.
    auto raw =
        send_raw(server, "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n");
    EXPECT_EQ(status_of(raw), 431) << raw.substr(0, 200);
    raw = send_raw(server, "GET /metrics HTTP/1.1\r\nX-Big: " + std::string(20000, 'a'));
    EXPECT_EQ(status_of(raw), 431) << raw.substr(0, 200);
    EXPECT_EQ(renders, 0);
    // And it still serves.
    auto res = get(server, "/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->body, "x 1\n");
}

TEST(MetricsServer, RenderThatThrowsGives500) {
    MetricsServer server("127.0.0.1:0", []() -> std::string { throw std::runtime_error("no"); });
    auto res = get(server, "/metrics");
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 500);
}

TEST(MetricsServer, ServesIpv6Loopback) {
    std::unique_ptr<MetricsServer> server;
    try {
        server = std::make_unique<MetricsServer>("[::1]:0", [] { return "x 1\n"; });
    } catch (const std::runtime_error &e) {
        // A CI machine without ::1 is a machine this test must be told about, not skipped on.
        if (running_in_ci())
            FAIL() << "no IPv6 loopback on this CI machine: " << e.what();
        GTEST_SKIP() << "no IPv6 loopback here: " << e.what();
    }
    EXPECT_TRUE(server->address().starts_with("[::1]:")) << server->address();
    std::string error;
    auto res = http_get("::1", port_of(server->address()), "/metrics", 2000, &error);
    ASSERT_TRUE(res) << error;
    EXPECT_EQ(res->status, 200);
    EXPECT_EQ(res->body, "x 1\n");
}

std::string constructor_error(const std::string &host_port) {
    try {
        MetricsServer server(host_port, [] { return std::string(); });
    } catch (const std::runtime_error &e) {
        return e.what();
    }
    return "(no exception)";
}

TEST(MetricsServer, BusyPortFailsInTheConstructor) {
    MetricsServer first("127.0.0.1:0", [] { return std::string(); });
    auto where = first.address();
    auto message = constructor_error(where);
    EXPECT_EQ(message, "cannot listen on " + where + ": Address already in use");
    EXPECT_EQ(message.find('\n'), std::string::npos);
}

// With SO_REUSEPORT (some HTTP libraries set it by default) a second listener would share a port
// silently; the server sets only SO_REUSEADDR.
TEST(MetricsServer, DoesNotShareAPortWithAReusePortListener) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_GE(fd, 0);
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr *>(&addr), len), 0);
    ASSERT_EQ(::listen(fd, 4), 0);
    ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len);
    auto where = "127.0.0.1:" + std::to_string(ntohs(addr.sin_port));
    EXPECT_EQ(constructor_error(where), "cannot listen on " + where + ": Address already in use");
    ::close(fd);
}

TEST(MetricsServer, BadAddressesFailInTheConstructor) {
    EXPECT_EQ(constructor_error("127.0.0.1"),
              "invalid metrics address \"127.0.0.1\": expected HOST:PORT such as "
              "127.0.0.1:9101, [::1]:9101 or :9101");
    EXPECT_TRUE(constructor_error("a\nb:1").starts_with("invalid metrics address \"a\\nb:1\""))
        << constructor_error("a\nb:1");
    // TEST-NET-1 (RFC 5737) is on no interface of this host.
    EXPECT_EQ(constructor_error("192.0.2.1:9101"),
              "cannot listen on 192.0.2.1:9101: Cannot assign requested address");
    // No name resolution in a static binary: a host name is refused before anything is bound.
    EXPECT_EQ(constructor_error("no-such-host.invalid:9101"),
              "invalid metrics address \"no-such-host.invalid:9101\": use a numeric address such "
              "as 127.0.0.1:9101 or [::1]:9101 (host names other than localhost are not resolved)");
    EXPECT_TRUE(constructor_error("1.2.3:9101").find("use a numeric address") != std::string::npos)
        << constructor_error("1.2.3:9101");
    EXPECT_EQ(constructor_error("localhost:0"), "(no exception)");
}

// A connected socket to the server that has sent `sent` and nothing more.
int stuck_client(const MetricsServer &server, const std::string &sent) {
    std::string error;
    int fd = testing::connect_to("127.0.0.1", port_of(server.address()), 2000, &error);
    EXPECT_GE(fd, 0) << error;
    if (fd >= 0 && !sent.empty())
        EXPECT_EQ(::send(fd, sent.data(), sent.size(), MSG_NOSIGNAL),
                  static_cast<ssize_t>(sent.size()));
    return fd;
}

TEST(MetricsServer, DestructorDoesNotWaitForAStuckClient) {
    for (std::string sent : {"", "GET /metrics HTTP/1.1\r\nHost: x\r\n"}) {
        auto server = std::make_unique<MetricsServer>("127.0.0.1:0", [] { return "x 1\n"; });
        // One client sends half a request (or nothing) and waits; another waits in the backlog.
        int fd = stuck_client(*server, sent);
        int queued = stuck_client(*server, "GET /metrics HTTP/1.1\r\n\r\n");
        std::this_thread::sleep_for(100ms); // the server is now waiting for the rest

        auto start = std::chrono::steady_clock::now();
        server.reset();
        auto took = std::chrono::steady_clock::now() - start;
        // The receive timeout is 2 s; the stop eventfd ends the wait long before it.
        EXPECT_LT(took, 1s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                            << " ms, sent \"" << sent << '"';
        ::close(fd);
        ::close(queued);
    }
}

TEST(MetricsServer, AnUnfinishedRequestDelaysTheNextOneByTheReceiveTimeoutAtMost) {
    MetricsServer server("127.0.0.1:0", [] { return "x 1\n"; });
    int fd = stuck_client(server, "GET /metrics HTTP/1.1\r\nHost: x\r\n");
    std::this_thread::sleep_for(100ms);
    auto start = std::chrono::steady_clock::now();
    std::string error;
    auto res = http_get("127.0.0.1", port_of(server.address()), "/metrics", 5000, &error);
    auto took = std::chrono::steady_clock::now() - start;
    ASSERT_TRUE(res) << error;
    EXPECT_EQ(res->body, "x 1\n");
    EXPECT_LT(took, 3s) << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                        << " ms";
    // The stuck client got no answer, only the end of the connection.
    pollfd p{fd, POLLIN, 0};
    ASSERT_EQ(::poll(&p, 1, 1000), 1);
    char c;
    EXPECT_EQ(::recv(fd, &c, 1, MSG_DONTWAIT), 0);
    ::close(fd);
}

TEST(MetricsServer, DestroyedRightAfterConstruction) {
    for (int i = 0; i < 20; ++i)
        MetricsServer("127.0.0.1:0", [] { return std::string(); });
}

// --- A real Prometheus server scraping us. ---

std::optional<std::string> find_in_path(const std::string &name) {
    const char *path = std::getenv("PATH");
    std::istringstream dirs(path ? path : "/usr/bin:/bin");
    for (std::string dir; std::getline(dirs, dir, ':');) {
        auto candidate = (dir.empty() ? "." : dir) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0)
            return candidate;
    }
    return std::nullopt;
}

// A loopback port that was free a moment ago.
int free_port() {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr *>(&addr), len) != 0 ||
        ::getsockname(fd, reinterpret_cast<sockaddr *>(&addr), &len) != 0)
        throw std::runtime_error("cannot find a free port");
    ::close(fd);
    return ntohs(addr.sin_port);
}

// Prometheus in a temporary directory, scraping one target every second. The destructor kills
// it by its PID and removes the directory, whatever the test did.
class PrometheusServer {
  public:
    PrometheusServer(const std::string &binary, const std::string &target) {
        char tmpl[] = "/tmp/freezeprobe-prometheus-XXXXXX";
        if (!::mkdtemp(tmpl))
            throw std::runtime_error("mkdtemp failed");
        dir_ = tmpl;
        port_ = free_port();
        std::ofstream(dir_ / "prometheus.yml") << "global:\n"
                                                  "  scrape_interval: 1s\n"
                                                  "  scrape_timeout: 1s\n"
                                                  "  evaluation_interval: 1s\n"
                                                  "scrape_configs:\n"
                                                  "  - job_name: freezeprobe\n"
                                                  "    static_configs:\n"
                                                  "      - targets: ['"
                                               << target << "']\n";
        std::vector<std::string> argv = {
            binary,
            "--config.file=" + (dir_ / "prometheus.yml").string(),
            "--storage.tsdb.path=" + (dir_ / "data").string(),
            "--web.listen-address=127.0.0.1:" + std::to_string(port_),
            "--log.level=info",
        };
        auto log = (dir_ / "prometheus.log").string();
        // Output to a log file; never outlive a crashed test.
        pid_ = spawn_process(argv, {ChildStdio::null,
                                    false,
                                    {},
                                    [&log] {
                                        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
                                        int fd =
                                            ::open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
                                        ::dup2(fd, 1);
                                        ::dup2(fd, 2);
                                    }})
                   .pid;
    }
    ~PrometheusServer() {
        if (pid_ > 0) {
            ::kill(pid_, SIGTERM);
            int status = 0;
            auto until = std::chrono::steady_clock::now() + 3s;
            while (::waitpid(pid_, &status, WNOHANG) == 0) {
                if (std::chrono::steady_clock::now() > until) {
                    ::kill(pid_, SIGKILL);
                    ::waitpid(pid_, &status, 0);
                    break;
                }
                std::this_thread::sleep_for(20ms);
            }
        }
        std::error_code ec;
        std::filesystem::remove_all(dir_, ec);
    }
    PrometheusServer(const PrometheusServer &) = delete;
    PrometheusServer &operator=(const PrometheusServer &) = delete;

    int port() const { return port_; }
    std::string log() const { return read_file((dir_ / "prometheus.log").string()); }

  private:
    std::filesystem::path dir_;
    int port_ = 0;
    pid_t pid_ = -1;
};

// The value of the only series an instant query returns, or nullopt (no data yet, or an error).
std::optional<std::string> query_value(int port, const std::string &query) {
    auto res =
        http_get("127.0.0.1", port, "/api/v1/query?query=" + testing::url_encode(query), 2000);
    if (!res || res->status != 200)
        return std::nullopt;
    auto j = nlohmann::json::parse(res->body, nullptr, false);
    if (j.is_discarded() || j.value("status", "") != "success")
        return std::nullopt;
    auto &result = j["data"]["result"];
    if (!result.is_array() || result.size() != 1)
        return std::nullopt;
    return result[0]["value"][1].get<std::string>();
}

TEST(MetricsServer, ARealPrometheusScrapesIt) {
    auto prometheus = find_in_path("prometheus");
    if (!prometheus) {
        if (running_in_ci())
            FAIL() << "prometheus is not installed (tools/setup.sh installs package prometheus)";
        GTEST_SKIP() << "prometheus is not installed (tools/setup.sh installs package prometheus)";
    }
    // The real exposition, so that Prometheus' own parser reads what freezeprobe serves.
    Aggregator aggregator;
    aggregator.add(Event{1, std::nullopt, Lost{7}});
    CgroupRef cgroup;
    cgroup.version = 2;
    cgroup.path = "/pod/ctr";
    cgroup.id = 1;
    cgroup.container = Container{"c\"\n\\\xff", std::nullopt, "p", std::nullopt};
    FreezeEpisode episode;
    episode.outcome = EpisodeOutcome::frozen;
    episode.duration_ns = 3'000'000;
    aggregator.add(Event{1, cgroup, episode});
    auto text = prometheus_text(aggregator);
    std::atomic<int> scrapes{0};
    MetricsServer server("127.0.0.1:0", [&] {
        ++scrapes;
        return text;
    });

    auto start = std::chrono::steady_clock::now();
    PrometheusServer prom(*prometheus, server.address());
    std::optional<std::string> lost;
    while (!lost && std::chrono::steady_clock::now() - start < 15s) {
        std::this_thread::sleep_for(250ms);
        lost = query_value(prom.port(), "freezeprobe_events_lost_total");
    }
    ASSERT_TRUE(lost) << "no sample after 15 s; " << scrapes << " scrapes; Prometheus log:\n"
                      << prom.log();
    EXPECT_EQ(*lost, "7");
    EXPECT_GE(scrapes, 1);
    EXPECT_EQ(query_value(prom.port(), "up{job=\"freezeprobe\"}"), "1");
    EXPECT_EQ(query_value(prom.port(), "freezeprobe_freeze_duration_seconds_count"), "1");
    EXPECT_EQ(
        query_value(prom.port(), "freezeprobe_freeze_duration_seconds_bucket{le=\"0.004194303\"}"),
        "1");
    // The hostile container id arrives as the same string, U+FFFD for the invalid byte. (PromQL
    // 2.42 rejects a literal U+FFFD in a query as "invalid UTF-8 rune"; the \ufffd escape works.)
    EXPECT_EQ(query_value(prom.port(),
                          R"(freezeprobe_freeze_episodes_total{container_id="c\"\n\\\ufffd"})"),
              "1");
}

} // namespace
} // namespace freezeprobe
