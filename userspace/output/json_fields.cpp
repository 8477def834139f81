#include "json_fields.h"

namespace freezeprobe {

// Keys stay in the order the contract lists them. The names are null when unknown, never a
// guess (container_names.h says where they come from).
void write_container(JsonWriter &w, const std::optional<Container> &c) {
    if (!c) {
        w.null();
        return;
    }
    w.begin_object();
    w.key("id").value(c->id);
    w.key("runtime").value(c->runtime);
    w.key("pod_uid").value(c->pod_uid);
    w.key("qos").value(c->qos);
    w.key("name").value(c->name);
    w.key("pod_name").value(c->pod_name);
    w.key("namespace").value(c->namespace_name);
    w.key("sandbox").value(c->sandbox);
    w.end_object();
}

} // namespace freezeprobe
