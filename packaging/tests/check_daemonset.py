"""Checks what the DaemonSet manifest must hold (packaging/kubernetes/README.md says why).

usage: check_daemonset.py MANIFEST BINARY
"""
import re
import subprocess
import sys

import yaml


def main(manifest_path, binary):
    with open(manifest_path) as f:
        docs = [d for d in yaml.safe_load_all(f) if d is not None]
    kinds = {(d["apiVersion"], d["kind"]): d for d in docs}
    assert set(kinds) == {("v1", "Namespace"), ("apps/v1", "DaemonSet")}, sorted(kinds)
    namespace = kinds[("v1", "Namespace")]
    ds = kinds[("apps/v1", "DaemonSet")]
    assert ds["metadata"]["namespace"] == namespace["metadata"]["name"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "privileged"

    spec = ds["spec"]
    pod = spec["template"]["spec"]
    template_labels = spec["template"]["metadata"]["labels"]
    for key, value in spec["selector"]["matchLabels"].items():
        assert template_labels.get(key) == value, f"selector {key}={value} does not match the pod"

    assert pod["hostPID"] is True
    assert pod["hostNetwork"] is True
    assert pod["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert {"operator": "Exists"} in pod["tolerations"]
    assert pod["terminationGracePeriodSeconds"] >= 10
    (container,) = pod["containers"]
    assert container["securityContext"]["privileged"] is True
    resources = container["resources"]
    assert {"cpu", "memory"} <= set(resources["requests"])
    assert "memory" in resources["limits"] and "cpu" not in resources["limits"]

    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    assert {m["name"] for m in mounts.values()} == set(volumes), "every volume mounted once"
    for path, mount in mounts.items():
        host_path = volumes[mount["name"]]["hostPath"]["path"]
        if path.startswith("/host/"):
            # --host-root /host: the node's files that name containers, read-only.
            assert path == "/host" + host_path, f"{path} comes from the host's {host_path}"
            assert mount.get("readOnly") is True, f"{path} is read-only"
        else:
            assert host_path == path, f"{path} comes from the host's {host_path}"
    assert mounts["/sys"]["readOnly"] is True
    assert mounts["/sys/fs/cgroup"]["readOnly"] is True, "freezeprobe writes no cgroup file"

    # The arguments are freezeprobe's: a command it has, then options its --help lists.
    args = container["args"]
    help_text = subprocess.run([binary, "--help"], check=True, capture_output=True,
                               text=True).stdout
    assert args[0] == "watch"
    for arg in args[1:]:
        if arg.startswith("-"):
            assert re.search(r"^\s+" + re.escape(arg) + r"(?=[\s,])", help_text, re.M), \
                f"{arg} is not an option of freezeprobe"
    options = dict(zip(args[1::2], args[2::2]))
    assert re.fullmatch(r"127\.0\.0\.1:\d+", options["--metrics"]), "metrics on the loopback"
    assert options["--host-root"] == "/host"
    # The image the release builds (packaging/oci_image.sh), imported on the node, never pulled.
    version = subprocess.run([binary, "--version"], check=True, capture_output=True,
                             text=True).stdout.split()[-1]
    assert container["image"] == f"localhost/freezeprobe:{version}", container["image"]
    assert container["imagePullPolicy"] == "Never"
    for named_by in ("/var/log/pods", "/run/containerd", "/run/containers"):
        assert "/host" + named_by in mounts, f"--host-root needs the node's {named_by}"
    report_dir = options["--report"].rsplit("/", 1)[0]
    assert report_dir in mounts, f"the report directory {report_dir} is a host volume"
    print(f"ok: {manifest_path}: Namespace + DaemonSet, hostPID, hostNetwork, privileged, "
          f"mounts {sorted(mounts)}, args {' '.join(args)}")


if __name__ == "__main__":
    try:
        main(*sys.argv[1:])
    except (AssertionError, KeyError) as e:
        print(f"FAIL: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
