// A tiny HTTP/1.1 client for the tests of the /metrics server and of a real Prometheus: one
// request per connection over a raw socket, IPv4 or IPv6, numeric addresses only.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace freezeprobe::testing {

struct HttpResponse {
    int status = 0;
    std::map<std::string, std::string> headers; // names in lower case, values trimmed
    std::string body;                           // chunked transfer coding already decoded
};

// Percent-encodes everything but RFC 3986's unreserved characters, for a query parameter value.
std::string url_encode(std::string_view s);

// A connected non-blocking TCP socket to host ("127.0.0.1", "::1": no brackets, no names) and
// port, or -1 with the reason in *error. The caller closes it.
int connect_to(const std::string &host, int port, int timeout_ms, std::string *error = nullptr);

// Sends request as it is and reads until the server closes the connection; the whole exchange
// must end within timeout_ms. Nullopt, with the reason in *error, otherwise.
std::optional<std::string> http_exchange(const std::string &host, int port,
                                         const std::string &request, int timeout_ms,
                                         std::string *error = nullptr);

// Parses a whole response; nullopt if it is malformed or shorter than its Content-Length.
std::optional<HttpResponse> parse_http_response(const std::string &raw);

// GET target (path and query, e.g. "/api/v1/query?query=" + url_encode(q)) with Connection: close.
std::optional<HttpResponse> http_get(const std::string &host, int port, const std::string &target,
                                     int timeout_ms, std::string *error = nullptr);

} // namespace freezeprobe::testing
