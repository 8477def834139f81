"""The `ctr run` arguments that run the DaemonSet's container as the kubelet and containerd's CRI
plugin would run it on a node, read from the manifest (check_daemonset_image.sh uses them).

usage: daemonset_ctr_args.py MANIFEST IMAGE_ARCHIVE [--host-path PATH=SOURCE]... [--arg OPTION=VALUE]...

Prints one argument per line: the ctr run options (privileged, the host's PID and network
namespaces, read-only root, the CPU shares kubelet derives from the CPU request, memory limit, one
--mount per volumeMount), a line "--", then the
process: the image's Entrypoint (read from the archive's config) followed by the manifest's args
(Kubernetes' args replace the image's Cmd and keep its Entrypoint).

--host-path maps each hostPath volume of the manifest to the directory the test mounts in its
place (PATH=PATH for the node's own); a hostPath without one is an error, so a volume added to
the manifest cannot go untested. --arg replaces the value that follows OPTION in the args.
"""
import json
import sys
import tarfile

import yaml


def image_entrypoint(archive):
    with tarfile.open(archive) as tar:
        def blob(digest):
            return json.load(tar.extractfile("blobs/sha256/" + digest.split(":", 1)[1]))

        index = json.load(tar.extractfile("index.json"))
        (manifest,) = index["manifests"]
        config = blob(blob(manifest["digest"])["config"]["digest"])
    return config["config"]["Entrypoint"]


def memory_bytes(quantity):
    units = {"Ki": 1 << 10, "Mi": 1 << 20, "Gi": 1 << 30}
    for suffix, factor in units.items():
        if quantity.endswith(suffix):
            return int(quantity[: -len(suffix)]) * factor
    return int(quantity)


def cpu_millis(quantity):
    quantity = str(quantity)
    if quantity.endswith("m"):
        return int(quantity[:-1])
    return int(float(quantity) * 1000)


def main(argv):
    manifest_path, archive = argv[0], argv[1]
    host_paths, arg_values = {}, {}
    rest = argv[2:]
    while rest:
        flag, value = rest[0], rest[1]
        key, _, replacement = value.partition("=")
        {"--host-path": host_paths, "--arg": arg_values}[flag][key] = replacement
        rest = rest[2:]

    with open(manifest_path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    (ds,) = [d for d in docs if d["kind"] == "DaemonSet"]
    pod = ds["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    security = container.get("securityContext", {})

    out = []
    if security.get("privileged"):
        out.append("--privileged")
    if pod.get("hostPID"):
        # ctr has no --pid-host: the CRI plugin leaves the pid namespace out of the spec, so the
        # container is in the node's; joining this process's pid namespace is the same here.
        out += ["--with-ns", "pid:/proc/self/ns/pid"]
    if pod.get("hostNetwork"):
        out.append("--net-host")
    if security.get("readOnlyRootFilesystem"):
        out.append("--read-only")
    resources = container.get("resources", {})
    # kubelet's cpu.shares (cgroup v1; runc writes it as cpu.weight on v2) from the CPU request:
    # milliCPU * 1024 / 1000, at least 2 (also without a request). ctr's own default is 1024.
    cpu_request = cpu_millis(resources.get("requests", {}).get("cpu", "0"))
    out += ["--cpu-shares", str(max(2, cpu_request * 1024 // 1000))]
    limit = resources.get("limits", {}).get("memory")
    if limit:
        out += ["--memory-limit", str(memory_bytes(limit))]

    volumes = {v["name"]: v for v in pod["volumes"]}
    propagation = {"HostToContainer": ":rslave", "Bidirectional": ":rshared", "None": ""}
    for mount in container["volumeMounts"]:
        host_path = volumes[mount["name"]]["hostPath"]["path"]
        if host_path not in host_paths:
            sys.exit(f"the manifest mounts the host's {host_path}: give --host-path for it")
        # What the CRI plugin asks runc for: a recursive bind, read-only if readOnly.
        options = "rbind:" + ("ro" if mount.get("readOnly") else "rw")
        options += propagation[mount.get("mountPropagation", "None")]
        out += ["--mount", f"type=bind,src={host_paths[host_path]},dst={mount['mountPath']},"
                f"options={options}"]

    args = list(container["args"])
    for option, value in arg_values.items():
        if option not in args:
            sys.exit(f"the manifest's args have no {option}")
        args[args.index(option) + 1] = value
    out.append("--")
    out += image_entrypoint(archive) + args
    print("\n".join(out))


if __name__ == "__main__":
    main(sys.argv[1:])
