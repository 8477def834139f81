// Serves GET /metrics (Prometheus text format 0.0.4) on its own thread, for `--metrics HOST:PORT`:
// a minimal HTTP/1.1 server (one connection at a time, then close), hand-written because no
// HTTP library can be vendored or linked statically. The constructor binds before it returns, so
// that a bad address or a busy port stops freezeprobe before it attaches anything.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

namespace freezeprobe {

// "127.0.0.1:9101", "localhost:9101", "[::1]:9101", "0.0.0.0:9101" or ":9101" -> (host, port).
// An empty host and "localhost" become 127.0.0.1: freezeprobe never binds a non-loopback
// address unless it is given one, and resolving "localhost" would depend on NSS (a static binary
// has none) and might pick ::1. For the same reason no other host name is accepted: the host is
// "localhost", a dotted-quad IPv4 address or a bracketed IPv6 address. Port 0 asks the kernel for
// a free port. Nullopt for anything else (a host name, no port, a port that is not a number in
// 0..65535, an unbracketed IPv6 address, junk); MetricsServer tells a host name apart in its
// message ("use a numeric address").
std::optional<std::pair<std::string, int>> parse_host_port(const std::string &host_port);

class MetricsServer {
  public:
    // Throws std::runtime_error with a one-line message if host_port is invalid or cannot be
    // bound (port busy, address not on this host, no permission). render is called on the
    // server's thread for each scrape (GET or HEAD /metrics); the caller makes it thread-safe and
    // keeps what it uses alive until the MetricsServer is destroyed. If it throws, the client gets
    // a 500.
    MetricsServer(const std::string &host_port, std::function<std::string()> render);
    // Stops the server and joins its thread. Prompt even with a client stuck in the middle of a
    // request: every wait of the thread also watches a stop eventfd. Only a render() in progress
    // delays it. Never throws.
    ~MetricsServer();
    MetricsServer(const MetricsServer &) = delete;
    MetricsServer &operator=(const MetricsServer &) = delete;

    // Where it listens, with the real port: "127.0.0.1:9101", "[::1]:9101".
    std::string address() const;

  private:
    struct Impl; // keeps the sockets and the thread out of the header
    std::unique_ptr<Impl> impl_;
};

} // namespace freezeprobe
