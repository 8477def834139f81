// No HTTP library on purpose: the project vendors no code from public repositories, and Debian's
// libcpp-httplib-dev is a shared library built with OpenSSL, which a static binary cannot link.
// Answering Prometheus' GET /metrics with plain text, one connection at a time, takes a page.
#include "metrics_server.h"

#include "text_util.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdexcept>
#include <strings.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace freezeprobe {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr std::size_t max_request = 8 * 1024; // request line and headers; a scrape sends ~300 B
constexpr auto receive_timeout = 2s;          // for the whole request, against slow clients
constexpr auto send_timeout = 5s;             // for the whole response
constexpr auto drain_timeout = 1s;            // for the client to close after the response

union SockAddr {
    sockaddr sa;
    sockaddr_in v4;
    sockaddr_in6 v6;
};

std::string join_host_port(const std::string &host, int port) {
    return host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port)
                                               : fmt::format("[{}]:{}", host, port);
}

// HOST:PORT by syntax alone; numeric is false for a host name (such as "1.2.3", which inet_aton
// would take, or "example.com"). Names are refused because resolving them would need NSS, which
// a static binary does not have.
struct HostPort {
    std::string host;
    int port = 0;
    bool numeric = false;
    SockAddr addr{};
};

std::optional<HostPort> split_host_port(const std::string &host_port) {
    HostPort r;
    bool v6 = host_port.starts_with('[');
    auto colon = v6 ? host_port.find("]:") : host_port.rfind(':');
    if (colon == std::string::npos)
        return std::nullopt;
    r.host = host_port.substr(v6 ? 1 : 0, v6 ? colon - 1 : colon);
    auto port = host_port.substr(colon + (v6 ? 2 : 1));
    if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != port.npos ||
        (r.port = std::stoi(port)) > 65535)
        return std::nullopt;
    if (!v6 && (r.host.empty() || ::strcasecmp(r.host.c_str(), "localhost") == 0))
        r.host = "127.0.0.1";
    r.addr.sa.sa_family = v6 ? AF_INET6 : AF_INET;
    (v6 ? r.addr.v6.sin6_port : r.addr.v4.sin_port) = htons(static_cast<std::uint16_t>(r.port));
    void *in = v6 ? static_cast<void *>(&r.addr.v6.sin6_addr) : &r.addr.v4.sin_addr;
    r.numeric = ::inet_pton(r.addr.sa.sa_family, r.host.c_str(), in) == 1;
    if (v6) // brackets hold an IPv6 address and nothing else
        return r.numeric ? std::optional(r) : std::nullopt;
    // A name's characters; this also rejects an unbracketed IPv6 address.
    if (r.host.size() > 253 ||
        r.host.find_first_not_of("abcdefghijklmnopqrstuvwxyz"
                                 "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-") != std::string::npos)
        return std::nullopt;
    return r;
}

std::string sockaddr_text(const SockAddr &a) {
    bool v6 = a.sa.sa_family == AF_INET6;
    char text[INET6_ADDRSTRLEN] = "";
    ::inet_ntop(a.sa.sa_family, v6 ? static_cast<const void *>(&a.v6.sin6_addr) : &a.v4.sin_addr,
                text, sizeof(text));
    return join_host_port(text, ntohs(v6 ? a.v6.sin6_port : a.v4.sin_port));
}

// Waits until fd is ready, the stop eventfd fires or the deadline passes; true if ready. Every
// wait of the server thread also watches the eventfd, so the destructor never waits for a client.
bool wait_for(int fd, short events, int stop_fd, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        pollfd p[2] = {{fd, events, 0}, {stop_fd, POLLIN, 0}};
        int n = left > 0 ? ::poll(p, 2, static_cast<int>(left)) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0 && !p[1].revents; // POLLERR, POLLHUP: the next recv or send reports them
    }
}

} // namespace

std::optional<std::pair<std::string, int>> parse_host_port(const std::string &host_port) {
    auto r = split_host_port(host_port);
    if (!r || !r->numeric)
        return std::nullopt;
    return std::pair{r->host, r->port};
}

struct MetricsServer::Impl {
    std::function<std::string()> render;
    int listen_fd = -1;
    int stop_fd = -1; // an eventfd, written once by the destructor
    std::string address;
    std::thread thread;

    ~Impl() {
        if (listen_fd >= 0)
            ::close(listen_fd);
        if (stop_fd >= 0)
            ::close(stop_fd);
    }

    void serve() {
        for (;;) {
            pollfd p[2] = {{listen_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
            if ((::poll(p, 2, -1) < 0 && errno != EINTR) || p[1].revents)
                return;
            // Non-blocking like the listening socket: a client gone since poll() cannot block us.
            int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
            if (fd < 0 &&
                (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM))
                ::poll(&p[1], 1, 100); // back off instead of spinning while out of descriptors
            if (fd < 0)
                continue;
            try {
                handle(fd);
            } catch (...) { // bad_alloc: drop this connection, keep serving
            }
            ::close(fd);
        }
    }

    // One request, one response, then close: no keep-alive, so that one idle client cannot keep
    // the next scrape waiting for longer than the receive timeout.
    void handle(int fd) {
        std::string request;
        auto deadline = Clock::now() + receive_timeout;
        std::size_t end;
        while ((end = request.find("\r\n\r\n")) == std::string::npos) {
            if (request.size() >= max_request)
                return respond(fd, "431 Request Header Fields Too Large", false);
            if (!wait_for(fd, POLLIN, stop_fd, deadline))
                return; // timed out or stopping: no answer is owed
            char buf[4096];
            ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                return; // the client went away
            request.append(buf, static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
        }
        if (end + 4 > max_request)
            return respond(fd, "431 Request Header Fields Too Large", false);

        // request-line = method SP request-target SP HTTP-version (RFC 9112 section 3). Headers
        // are not parsed: none of them changes the answer.
        std::string_view line(request.data(), request.find("\r\n"));
        auto sp1 = line.find(' ');
        auto sp2 = sp1 == line.npos ? line.npos : line.find(' ', sp1 + 1);
        auto method = line.substr(0, sp1);
        auto target = sp2 == line.npos ? "" : line.substr(sp1 + 1, sp2 - sp1 - 1);
        auto version = sp2 == line.npos ? "" : line.substr(sp2 + 1);
        bool head = method == "HEAD";
        if (method.empty() || method.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZ") != line.npos ||
            !target.starts_with('/') ||
            std::any_of(target.begin(), target.end(),
                        [](char c) { return c <= ' ' || c == 127; }) ||
            (version != "HTTP/1.1" && version != "HTTP/1.0"))
            return respond(fd, "400 Bad Request", false);
        if (target.substr(0, target.find('?')) != "/metrics") // the query string is ignored
            return respond(fd, "404 Not Found", head);
        if (method != "GET" && !head)
            return respond(fd, "405 Method Not Allowed", false, "Allow: GET, HEAD\r\n");
        std::string body;
        try {
            body = render();
        } catch (const std::exception &) {
            return respond(fd, "500 Internal Server Error", head);
        }
        respond(fd, "200 OK", head, "", &body);
    }

    // Sends the response (an error's body is its status line) and closes gracefully.
    void respond(int fd, std::string_view status, bool head, std::string_view extra = "",
                 const std::string *metrics = nullptr) {
        auto body = metrics ? *metrics : fmt::format("{}\n", status);
        auto out = fmt::format("HTTP/1.1 {}\r\nContent-Type: {}\r\nContent-Length: {}\r\n{}"
                               "Connection: close\r\n\r\n{}",
                               status,
                               metrics ? "text/plain; version=0.0.4; charset=utf-8"
                                       : "text/plain; charset=utf-8",
                               body.size(), extra, head ? "" : body);
        auto deadline = Clock::now() + send_timeout;
        for (std::size_t sent = 0; sent < out.size();) {
            if (!wait_for(fd, POLLOUT, stop_fd, deadline))
                return;
            ssize_t n = ::send(fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
            if (n < 0 && errno != EINTR && errno != EAGAIN)
                return;
            sent += static_cast<std::size_t>(std::max<ssize_t>(n, 0));
        }
        // Closing with unread input (a request body, an oversized header) would send a RST that
        // can destroy the response before the client reads it: half-close, then read until the
        // client closes too, for a bounded time.
        ::shutdown(fd, SHUT_WR);
        deadline = Clock::now() + drain_timeout;
        char buf[4096];
        while (wait_for(fd, POLLIN, stop_fd, deadline)) {
            ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
            if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN))
                break;
        }
    }
};

MetricsServer::MetricsServer(const std::string &host_port, std::function<std::string()> render)
    : impl_(std::make_unique<Impl>()) {
    auto r = split_host_port(host_port);
    if (!r || !r->numeric)
        throw std::runtime_error(fmt::format(
            "invalid metrics address \"{}\": {}", escape_for_terminal(host_port),
            r ? "use a numeric address such as 127.0.0.1:9101 or [::1]:9101 (host names other "
                "than localhost are not resolved)"
              : "expected HOST:PORT such as 127.0.0.1:9101, [::1]:9101 or :9101"));
    auto fail = [where = join_host_port(r->host, r->port)](int err) {
        return std::runtime_error(
            fmt::format("cannot listen on {}: {}", where, std::strerror(err)));
    };

    // ~Impl closes whatever was opened if a step below throws.
    auto &s = *impl_;
    s.listen_fd = ::socket(r->addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s.listen_fd < 0)
        throw fail(errno);
    // SO_REUSEADDR allows a quick restart over TIME_WAIT connections. Not SO_REUSEPORT: with it a
    // second freezeprobe on the same port would share it silently instead of failing here.
    int one = 1;
    ::setsockopt(s.listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    socklen_t len = r->addr.sa.sa_family == AF_INET6 ? sizeof(sockaddr_in6) : sizeof(sockaddr_in);
    if (::bind(s.listen_fd, &r->addr.sa, len) != 0 || ::listen(s.listen_fd, 16) != 0 ||
        ::getsockname(s.listen_fd, &r->addr.sa, &len) != 0)
        throw fail(errno);
    s.address = sockaddr_text(r->addr); // with the real port when port 0 was asked for
    s.stop_fd = ::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (s.stop_fd < 0)
        throw fail(errno);
    s.render = std::move(render);
    s.thread = std::thread([&s] { s.serve(); });
}

MetricsServer::~MetricsServer() {
    // The eventfd stays readable once written, so every wait of the thread ends at once.
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(impl_->stop_fd, &one, sizeof(one));
    if (impl_->thread.joinable())
        impl_->thread.join();
} // ~Impl closes the sockets

std::string MetricsServer::address() const {
    return impl_->address;
}

} // namespace freezeprobe
