#include "json_fields.h"

namespace freezeprobe {

using json = nlohmann::ordered_json;

json nullable_json(const std::optional<std::string> &s) {
    return s ? json(*s) : json(nullptr);
}

json container_json(const std::optional<Container> &c) {
    if (!c)
        return nullptr;
    return json{{"id", c->id},
                {"runtime", nullable_json(c->runtime)},
                {"pod_uid", nullable_json(c->pod_uid)},
                {"qos", nullable_json(c->qos)}};
}

} // namespace freezeprobe
