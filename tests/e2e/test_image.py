"""The container image: the Containerfile's runtime stage, built with Debian's podman from the binary
under test (deploy/image/rootfs.sh lays out its root filesystem; nothing is pulled), holds everything
fedns needs. `podman run` is tried; this machine's limits may refuse it (crun cannot set
RLIMIT_NOFILE), so the image's root filesystem is then run as it is: fedns serves from it, read-only,
in fresh mount, PID and network namespaces (`unshare`, `chroot`) as the image's non-root user and
answers dig, and the image's iptables and ip6tables (nft backend) install and list the rules node-local
set-up uses.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import uuid

import pytest

import k8sobjects as k8s
from clusterdata import NGINX_IP, cluster_objects
from conftest import REPO_ROOT
from servers import ServerExited, fedns_binary, stop_process, tail, wait_until

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="podman with vfs storage and namespaces need root")


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """The runtime stage built from FEDNS_BIN: (podman command prefix, image name, mounted root)."""
    podman = shutil.which("podman")
    assert podman, "podman missing: run scripts/install-deps.sh"
    work = tmp_path_factory.mktemp("image")
    context = work / "context"
    context.mkdir()
    out = subprocess.run(["sh", os.path.join(REPO_ROOT, "deploy/image/rootfs.sh"), fedns_binary(), str(context / "rootfs")],
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    # A storage of its own: the test leaves nothing behind and shares nothing with other podman users.
    cmd = [podman, "--storage-driver", "vfs", "--root", str(work / "storage"), "--runroot", str(work / "run")]
    name = f"localhost/fedns-test:{uuid.uuid4().hex[:8]}"
    out = subprocess.run([*cmd, "build", "--build-arg", "ROOTFS=rootfs-from-host", "-f",
                          os.path.join(REPO_ROOT, "Containerfile"), "-t", name, str(context)],
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    shutil.rmtree(context)
    root = subprocess.run([*cmd, "image", "mount", name], capture_output=True, text=True, timeout=120, check=True).stdout.strip()
    yield cmd, name, root
    subprocess.run([*cmd, "image", "umount", "--all"], capture_output=True, timeout=120)
    subprocess.run([*cmd, "rmi", "--all", "--force"], capture_output=True, timeout=300)
    # vfs layers are plain directories; some are read-only for their owner only.
    subprocess.run(["rm", "-rf", str(work)], timeout=300)


def test_the_image_runs_fedns_as_non_root(image):
    cmd, name, root = image
    config = json.loads(subprocess.run([*cmd, "image", "inspect", name], capture_output=True, text=True,
                                       timeout=60, check=True).stdout)[0]["Config"]
    assert config["User"] == "65532:65532"
    assert config["Entrypoint"] == ["/usr/bin/fedns"]
    assert "PATH=/usr/sbin:/usr/bin" in config["Env"], "node set-up finds iptables on PATH"
    with open(os.path.join(root, "etc/passwd")) as f:
        assert "fedns:x:65532:65532:" in f.read()
    assert os.path.getsize(os.path.join(root, "etc/ssl/certs/ca-certificates.crt")) > 10_000


def test_podman_run_or_its_refusal_is_this_machines_limit(image):
    cmd, name, _ = image
    out = subprocess.run([*cmd, "run", "--rm", "--network", "none", name, "--version"],
                         capture_output=True, text=True, timeout=300)
    if out.returncode != 0:
        assert "rlimit" in out.stderr.lower() or "permission" in out.stderr.lower() or "cgroup" in out.stderr.lower(), out.stderr
        pytest.skip(f"podman run refused here: {out.stderr.strip()[:200]}; the namespace tests below run the image instead")
    assert out.stdout.startswith("fedns ")


def dig(netns: str, name: str, rdtype: str = "A") -> list[str]:
    out = subprocess.run(["ip", "netns", "exec", netns, "dig", "+short", "+time=2", "+tries=2", "-p", "5353",
                          "@127.0.0.1", name, rdtype], capture_output=True, text=True, timeout=30)
    return out.stdout.split()


def test_fedns_serves_from_the_read_only_image(image, netns, tmp_path):
    """Fresh mount, PID and network namespaces, the image's root as / and read-only (as the manifests
    run it), the config and cluster state mounted at /etc/fedns, the image's user: only what the
    image holds is there to load, and fedns needs nowhere to write."""
    _, _, root = image
    config = tmp_path / "etc-fedns"
    config.mkdir()
    shutil.copy(os.path.join(REPO_ROOT, "deploy/base/fedns.yaml"), config / "fedns.yaml")
    (config / "cluster.yaml").write_text(k8s.object_list(cluster_objects()))
    (config / "resolv.conf").write_text("nameserver 127.0.0.1\nsearch cluster.local\n")
    for path in (tmp_path, config, *config.iterdir()):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)
    script = f"""set -e
mount --make-rprivate /
mount --bind {root} {root}
mount -o remount,bind,ro {root}
mount --bind {config} {root}/etc/fedns
mount --bind {config}/resolv.conf {root}/etc/resolv.conf
mount -t proc proc {root}/proc
if touch {root}/.writable 2>/dev/null; then echo "the image root is writable" >&2; exit 97; fi
exec chroot --userspec=65532:65532 {root} /usr/bin/fedns serve --config /etc/fedns/fedns.yaml \\
    --cluster-state /etc/fedns/cluster.yaml --mode sidecar --listen 127.0.0.1:5353 --upstream 127.0.0.1:5300
"""
    log = tmp_path / "fedns.log"
    with open(log, "w") as out:
        proc = subprocess.Popen(["ip", "netns", "exec", netns, "unshare", "--mount", "--pid", "--fork", "sh", "-c", script],
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    try:
        def answers() -> bool:
            if proc.poll() is not None:
                raise ServerExited(f"fedns exited with {proc.returncode}:\n{tail(str(log))}")
            return dig(netns, "nginx.mynamespace.svc.cluster.local") == [NGINX_IP]
        wait_until(answers, 60, interval=0.2, what="fedns from the image answering")
        assert dig(netns, "nosuch.mynamespace.svc.cluster.local") == []
        assert "read-only" not in log.read_text().lower(), tail(str(log))
    finally:
        stop_process(proc, grace=20)


@pytest.mark.parametrize("tool, rule", [
    ("iptables", ["-t", "raw", "-A", "PREROUTING", "-d", "169.254.20.10/32", "-p", "udp", "--dport", "53", "-j", "NOTRACK"]),
    ("iptables", ["-t", "filter", "-A", "INPUT", "-d", "169.254.20.10/32", "-p", "tcp", "--dport", "53", "-j", "ACCEPT"]),
    ("ip6tables", ["-t", "raw", "-A", "OUTPUT", "-p", "tcp", "--sport", "53", "-j", "CT", "--notrack"]),
])
def test_the_image_iptables_installs_the_node_rules(image, netns, tool, rule):
    _, _, root = image
    base = ["ip", "netns", "exec", netns, "chroot", root, f"/usr/sbin/{tool}"]
    out = subprocess.run([*base, "-w", *rule], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    listed = subprocess.run([*base, "-t", rule[1], "-S", rule[3]], capture_output=True, text=True, timeout=60).stdout
    assert any("--dport 53" in line or "--sport 53" in line for line in listed.splitlines()), listed
    version = subprocess.run([*base, "--version"], capture_output=True, text=True, timeout=60).stdout
    assert "nf_tables" in version
