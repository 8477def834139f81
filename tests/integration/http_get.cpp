#include "http_get.h"

#include <algorithm>
#include <arpa/inet.h>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstring>
#include <fmt/format.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace freezeprobe::testing {
namespace {

using Clock = std::chrono::steady_clock;

void set_error(std::string *error, std::string what) {
    if (error)
        *error = std::move(what);
}

// Waits for events on fd until deadline; false on timeout.
bool wait_for(int fd, short events, Clock::time_point deadline) {
    for (;;) {
        auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
        if (left <= 0)
            return false;
        pollfd p{fd, events, 0};
        int n = ::poll(&p, 1, static_cast<int>(left));
        if (n < 0 && errno == EINTR)
            continue;
        return n > 0;
    }
}

std::string lower(std::string s) {
    for (auto &c : s)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return s;
}

std::string trim(const std::string &s) {
    auto b = s.find_first_not_of(" \t");
    auto e = s.find_last_not_of(" \t");
    return b == std::string::npos ? "" : s.substr(b, e - b + 1);
}

// RFC 9112 section 7.1: hex size [; extensions] CRLF data CRLF ... 0 CRLF [trailers] CRLF.
std::optional<std::string> decode_chunked(const std::string &in) {
    std::string out;
    for (std::size_t pos = 0;;) {
        auto eol = in.find("\r\n", pos);
        if (eol == std::string::npos)
            return std::nullopt;
        std::size_t size = 0;
        try {
            size = std::stoul(in.substr(pos, eol - pos), nullptr, 16);
        } catch (const std::exception &) {
            return std::nullopt;
        }
        if (size == 0)
            return out;
        if (eol + 2 + size + 2 > in.size())
            return std::nullopt;
        out.append(in, eol + 2, size);
        pos = eol + 2 + size + 2;
    }
}

} // namespace

std::string url_encode(std::string_view s) {
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~')
            out += static_cast<char>(c);
        else
            out += fmt::format("%{:02X}", c);
    }
    return out;
}

int connect_to(const std::string &host, int port, int timeout_ms, std::string *error) {
    union {
        sockaddr sa;
        sockaddr_in v4;
        sockaddr_in6 v6;
    } addr{};
    bool v6 = host.find(':') != std::string::npos;
    addr.sa.sa_family = v6 ? AF_INET6 : AF_INET;
    (v6 ? addr.v6.sin6_port : addr.v4.sin_port) = htons(static_cast<std::uint16_t>(port));
    void *in = v6 ? static_cast<void *>(&addr.v6.sin6_addr) : &addr.v4.sin_addr;
    if (::inet_pton(addr.sa.sa_family, host.c_str(), in) != 1) {
        set_error(error, "not a numeric address: " + host);
        return -1;
    }
    int fd = ::socket(addr.sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        set_error(error, std::string("socket: ") + std::strerror(errno));
        return -1;
    }
    socklen_t len = v6 ? sizeof(addr.v6) : sizeof(addr.v4);
    int err = 0;
    if (::connect(fd, &addr.sa, len) != 0) {
        err = errno;
        if (err == EINPROGRESS) {
            err = ETIMEDOUT;
            if (wait_for(fd, POLLOUT, Clock::now() + std::chrono::milliseconds(timeout_ms))) {
                len = sizeof(err);
                ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            }
        }
    }
    if (err != 0) {
        set_error(error, fmt::format("connect to {}:{}: {}", host, port, std::strerror(err)));
        ::close(fd);
        return -1;
    }
    return fd;
}

std::optional<std::string> http_exchange(const std::string &host, int port,
                                         const std::string &request, int timeout_ms,
                                         std::string *error) {
    auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
    int fd = connect_to(host, port, timeout_ms, error);
    if (fd < 0)
        return std::nullopt;
    std::string response;
    std::optional<std::string> result;
    for (std::size_t sent = 0; sent < request.size();) {
        if (!wait_for(fd, POLLOUT, deadline)) {
            set_error(error, fmt::format("timed out sending after {} ms", timeout_ms));
            ::close(fd);
            return std::nullopt;
        }
        ssize_t n = ::send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno != EINTR && errno != EAGAIN) {
            set_error(error, std::string("send: ") + std::strerror(errno));
            ::close(fd);
            return std::nullopt;
        }
        sent += static_cast<std::size_t>(std::max<ssize_t>(n, 0));
    }
    for (;;) {
        if (!wait_for(fd, POLLIN, deadline)) {
            set_error(error, fmt::format("timed out after {} ms with {} bytes of response",
                                         timeout_ms, response.size()));
            break;
        }
        char buf[8192];
        ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
        if (n > 0) {
            response.append(buf, static_cast<std::size_t>(n));
        } else if (n == 0) {
            result = std::move(response);
            break;
        } else if (errno != EINTR && errno != EAGAIN) {
            set_error(error, std::string("recv: ") + std::strerror(errno));
            break;
        }
    }
    ::close(fd);
    return result;
}

std::optional<HttpResponse> parse_http_response(const std::string &raw) {
    auto end = raw.find("\r\n\r\n");
    if (end == std::string::npos || !raw.starts_with("HTTP/1.") || raw.size() < 12 ||
        raw[8] != ' ' || raw.find_first_not_of("0123456789", 9) != 12)
        return std::nullopt;
    HttpResponse r;
    r.status = std::stoi(raw.substr(9, 3));
    for (auto pos = raw.find("\r\n") + 2; pos < end + 2;) {
        auto eol = raw.find("\r\n", pos);
        auto line = raw.substr(pos, eol - pos);
        auto colon = line.find(':');
        if (colon == std::string::npos || colon == 0)
            return std::nullopt;
        r.headers[lower(line.substr(0, colon))] = trim(line.substr(colon + 1));
        pos = eol + 2;
    }
    r.body = raw.substr(end + 4);
    if (auto te = r.headers.find("transfer-encoding");
        te != r.headers.end() && lower(te->second).find("chunked") != std::string::npos) {
        auto body = decode_chunked(r.body);
        if (!body)
            return std::nullopt;
        r.body = std::move(*body);
    } else if (auto cl = r.headers.find("content-length"); cl != r.headers.end()) {
        if (cl->second.empty() || cl->second.find_first_not_of("0123456789") != std::string::npos)
            return std::nullopt;
        auto length = std::stoull(cl->second);
        if (r.body.size() < length)
            return std::nullopt;
        r.body.resize(length);
    }
    return r;
}

std::optional<HttpResponse> http_get(const std::string &host, int port, const std::string &target,
                                     int timeout_ms, std::string *error) {
    auto authority = host.find(':') == std::string::npos ? fmt::format("{}:{}", host, port)
                                                         : fmt::format("[{}]:{}", host, port);
    auto raw = http_exchange(host, port,
                             fmt::format("GET {} HTTP/1.1\r\nHost: {}\r\nUser-Agent: "
                                         "freezeprobe-tests\r\nAccept: */*\r\nConnection: "
                                         "close\r\n\r\n",
                                         target, authority),
                             timeout_ms, error);
    if (!raw)
        return std::nullopt;
    auto response = parse_http_response(*raw);
    if (!response)
        set_error(error, "malformed response: " + raw->substr(0, 200));
    return response;
}

} // namespace freezeprobe::testing
