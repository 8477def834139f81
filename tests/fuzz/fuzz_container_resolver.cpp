// resolve_container() on any bytes: no crash, no undefined behaviour, and never a guess: a
// container it returns has a 64-lowercase-hex id that appears in the path, a known runtime, a
// well-formed pod UID and a QoS class only with a pod.
#include "container_resolver.h"
#include "fuzz_checks.h"

#include <string_view>

using namespace freezeprobe;

namespace {

bool lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

// 8-4-4-4-12 (a UUID) or 32 hex (a static pod's config hash), lowercase.
bool pod_uid(std::string_view s) {
    if (s.size() == 32)
        return lower_hex(s);
    if (s.size() != 36)
        return false;
    for (std::size_t i = 0; i < s.size(); ++i)
        if ((i == 8 || i == 13 || i == 18 || i == 23) ? s[i] != '-' : !lower_hex(s.substr(i, 1)))
            return false;
    return true;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t *data, std::size_t size) {
    std::string_view path(reinterpret_cast<const char *>(data), size);
    auto c = resolve_container(path);
    FUZZ_CHECK(resolve_container(path) == c); // a pure function
    if (!c)
        return 0;
    FUZZ_CHECK(c->id.size() == 64 && lower_hex(c->id));
    FUZZ_CHECK(path.find(c->id) != std::string_view::npos);
    if (c->runtime)
        FUZZ_CHECK(*c->runtime == "containerd" || *c->runtime == "crio" ||
                   *c->runtime == "docker" || *c->runtime == "podman");
    if (c->pod_uid)
        FUZZ_CHECK(pod_uid(*c->pod_uid));
    if (c->qos) {
        FUZZ_CHECK(c->pod_uid.has_value());
        FUZZ_CHECK(*c->qos == "guaranteed" || *c->qos == "burstable" || *c->qos == "besteffort");
    }
    return 0;
}
