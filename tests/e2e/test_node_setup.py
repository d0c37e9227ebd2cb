"""Node set-up (nodeSetup, --node-setup) as NodeLocal DNSCache does it, on a model node: a "node" network
namespace running fedns on 169.254.20.10, a "pod" namespace joined to it by a veth pair whose resolv.conf
names 169.254.20.10. fedns puts the address on the dummy interface `nodelocaldns` and installs the NOTRACK
and ACCEPT rules with Debian's iptables (nft backend); the pod resolves through it with getent; the rules are
listed and counted (exactly once each, after a second start too), put back after someone deletes one, and
gone after exit unless keepOnExit. Bad input: no CAP_NET_ADMIN, no iptables, an address already held.

Needs root, iproute2 and iptables; skipped with a message otherwise.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import tempfile
import time

import pytest

from clusterdata import NGINX_IP, cluster_state, fedns_config
from servers import fedns_binary, tail, wait_until

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("ip") is None or shutil.which("iptables") is None,
    reason="needs root, iproute2 and iptables to make network namespaces and rules (ip netns add, iptables)")

NODE, POD = "fedns-ns-node", "fedns-ns-pod"
LOCAL_IP = "169.254.20.10"
# A private /30 of our own for the veth pair: node side .1, pod side .2.
NODE_VETH_IP, POD_VETH_IP = "10.251.7.1", "10.251.7.2"
COMMENT = "fedns: skip conntrack for node-local DNS"


def expected_rules() -> list[str]:
    """What `iptables -S` prints for each rule, as the planner promises (docs/operating.md, node set-up)."""
    c = f'-m comment --comment "{COMMENT}"'
    rules = []
    for p in ("udp", "tcp"):
        to = f"-d {LOCAL_IP}/32 -p {p} -m {p} --dport 53"
        frm = f"-s {LOCAL_IP}/32 -p {p} -m {p} --sport 53"
        rules += [f"raw -A PREROUTING {to} {c} -j NOTRACK", f"raw -A OUTPUT {to} {c} -j NOTRACK",
                  f"raw -A OUTPUT {frm} {c} -j NOTRACK", f"filter -A INPUT {to} {c} -j ACCEPT",
                  f"filter -A OUTPUT {frm} {c} -j ACCEPT"]
    return rules


def run(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=60)


def node_rules() -> list[str]:
    """Every fedns rule in the node namespace, as `TABLE -A CHAIN …` lines (duplicates kept)."""
    out = []
    for table in ("raw", "filter"):
        listing = run("ip", "netns", "exec", NODE, "iptables", "-t", table, "-S").stdout
        out += [f"{table} {line}" for line in listing.splitlines() if COMMENT in line]
    return out


def interface_addresses() -> list[str] | None:
    r = run("ip", "-n", NODE, "-o", "addr", "show", "dev", "nodelocaldns", check=False)
    if r.returncode != 0:
        return None
    return [line.split()[3] for line in r.stdout.splitlines() if " inet " in line]


@pytest.fixture
def node_and_pod():
    for ns in (NODE, POD):
        run("ip", "netns", "del", ns, check=False)
    etc = f"/etc/netns/{POD}"
    try:
        run("ip", "netns", "add", NODE)
        run("ip", "netns", "add", POD)
        run("ip", "-n", NODE, "link", "set", "lo", "up")
        run("ip", "-n", POD, "link", "set", "lo", "up")
        run("ip", "-n", NODE, "link", "add", "v-node", "type", "veth", "peer", "name", "v-pod", "netns", POD)
        run("ip", "-n", NODE, "addr", "add", f"{NODE_VETH_IP}/30", "dev", "v-node")
        run("ip", "-n", POD, "addr", "add", f"{POD_VETH_IP}/30", "dev", "v-pod")
        run("ip", "-n", NODE, "link", "set", "v-node", "up")
        run("ip", "-n", POD, "link", "set", "v-pod", "up")
        # The pod reaches the link-local DNS address through the node, as through a CNI's veth.
        run("ip", "-n", POD, "route", "add", f"{LOCAL_IP}/32", "via", NODE_VETH_IP)
        os.makedirs(etc, exist_ok=True)
        with open(f"{etc}/resolv.conf", "w") as f:
            f.write(f"nameserver {LOCAL_IP}\nsearch default.svc.cluster.local svc.cluster.local cluster.local\n"
                    "options ndots:5 timeout:2 attempts:2\n")
        yield
    finally:
        for ns in (NODE, POD):
            run("ip", "netns", "del", ns, check=False)
        shutil.rmtree(etc, ignore_errors=True)


class NodeFedns:
    """fedns in the node namespace on 169.254.20.10:53 with node set-up on."""

    def __init__(self, extra_config: str = "", extra_args: tuple[str, ...] = ("--node-setup",), prefix=()):
        self.workdir = tempfile.mkdtemp(prefix="fedns-node-")
        config = os.path.join(self.workdir, "fedns.yaml")
        state = os.path.join(self.workdir, "cluster.yaml")
        with open(config, "w") as f:
            # No upstream is reachable from the node namespace; cluster names need none.
            f.write(fedns_config(("127.0.0.1", 9)) + "lameduck: 0\n" + extra_config)
        with open(state, "w") as f:
            f.write(cluster_state())
        self.log = os.path.join(self.workdir, "fedns.log")
        argv = [*prefix, "ip", "netns", "exec", NODE, fedns_binary(), "serve", "--config", config, "--cluster-state", state,
                "--mode", "node-local", "--listen", f"{LOCAL_IP}:53", *extra_args]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)

    def text(self) -> str:
        with open(self.log, encoding="utf-8", errors="replace") as f:
            return f.read()

    def wait_listening(self) -> "NodeFedns":
        def listening() -> bool:
            if self.proc.poll() is not None:
                raise AssertionError(f"fedns exited with {self.proc.returncode}:\n{tail(self.log)}")
            text = self.text()
            return "fedns listening" in text and "cluster state loaded" in text
        wait_until(listening, 60, interval=0.1, what="fedns to listen and load the cluster in the node namespace")
        return self

    def wait_exit(self) -> tuple[int, str]:
        code = self.proc.wait(60)
        return code, self.text()

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(60)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return code


def pod_lookup(name: str) -> str:
    r = run("ip", "netns", "exec", POD, "getent", "hosts", name, check=False)
    return r.stdout.strip()


def test_node_set_up_serves_the_pod_keeps_each_rule_once_repairs_and_cleans_up(node_and_pod):
    first = NodeFedns(extra_config="nodeSetup: {checkInterval: 1}\n").wait_listening()
    try:
        assert interface_addresses() == [f"{LOCAL_IP}/32"], "the dummy interface holds the listen address"
        assert sorted(node_rules()) == sorted(expected_rules()), "each rule exactly once"
        # A pod's glibc resolver, through the veth pair, to the link-local address.
        assert pod_lookup("nginx.mynamespace.svc.cluster.local").split()[0] == NGINX_IP
        assert pod_lookup("nginx.mynamespace").split()[0] == NGINX_IP, "through the search list too"

        # A second start on the same address: its set-up adds nothing, its TCP bind is refused and named.
        second = NodeFedns()
        code, text = second.wait_exit()
        assert code != 0
        assert f"{LOCAL_IP}:53" in text and "another process holds" in text, text
        assert sorted(node_rules()) == sorted(expected_rules()), "a second start leaves each rule exactly once"
        assert interface_addresses() == [f"{LOCAL_IP}/32"], "the failed start left the first one's interface alone"
        shutil.rmtree(second.workdir, ignore_errors=True)

        # Someone deletes a raw and a filter rule: the periodic check puts both back, once.
        for table, chain, match in (("raw", "PREROUTING", "-d"), ("filter", "OUTPUT", "-s")):
            spec = next(r for r in node_rules() if r.startswith(f"{table} -A {chain} {match}") and "udp" in r)
            args = spec.split(" ", 3)[3]
            # check=True: the deletion itself succeeded (the 1 s re-check may put it back before we could look).
            run("sh", "-c", f"ip netns exec {NODE} iptables -t {table} -D {chain} {args}")
        wait_until(lambda: first.text().count("put back what was removed") >= 1 and len(node_rules()) == len(expected_rules()),
                   60, interval=0.2, what="the re-check to put the deleted rules back")
        assert sorted(node_rules()) == sorted(expected_rules())
        assert "put back what was removed" in first.text()
        assert pod_lookup("nginx.mynamespace.svc.cluster.local").split()[0] == NGINX_IP
    finally:
        code = first.stop()
    assert code == 0
    assert node_rules() == [], "rules removed on exit"
    assert interface_addresses() is None, "interface removed on exit"

    # keepOnExit leaves everything for the next start, which finds it in place and adds nothing.
    kept = NodeFedns(extra_config="nodeSetup: {keepOnExit: true}\n").wait_listening()
    assert kept.stop() == 0
    assert sorted(node_rules()) == sorted(expected_rules()), "kept on exit"
    assert interface_addresses() == [f"{LOCAL_IP}/32"]
    again = NodeFedns().wait_listening()
    try:
        assert sorted(node_rules()) == sorted(expected_rules()), "a start over kept rules leaves each exactly once"
        assert pod_lookup("nginx.mynamespace.svc.cluster.local").split()[0] == NGINX_IP
    finally:
        assert again.stop() == 0
    assert node_rules() == [] and interface_addresses() is None


def test_without_cap_net_admin_the_start_says_what_is_missing_and_how_to_turn_it_off(node_and_pod):
    if shutil.which("setpriv") is None:
        pytest.skip("needs setpriv (util-linux) to drop CAP_NET_ADMIN")
    proc = NodeFedns(prefix=("setpriv", "--bounding-set", "-net_admin", "--inh-caps", "-net_admin"))
    code, text = proc.wait_exit()
    shutil.rmtree(proc.workdir, ignore_errors=True)
    assert code != 0
    assert "rtnetlink RTM_NEWLINK (create dummy interface nodelocaldns)" in text, text
    assert "CAP_NET_ADMIN" in text and "--node-setup=false" in text, text
    assert node_rules() == [] and interface_addresses() is None


def test_without_iptables_the_start_names_the_binary(node_and_pod):
    proc = NodeFedns(extra_config="nodeSetup: {iptables: /nonexistent/iptables}\n")
    code, text = proc.wait_exit()
    shutil.rmtree(proc.workdir, ignore_errors=True)
    assert code != 0
    assert "/nonexistent/iptables not found" in text and "--node-setup=false" in text, text


def test_node_setup_false_turns_it_off(node_and_pod):
    # The address is not on the host then: binding fails, and the error says what would have put it there.
    proc = NodeFedns(extra_args=("--node-setup=false",))
    code, text = proc.wait_exit()
    shutil.rmtree(proc.workdir, ignore_errors=True)
    assert code != 0
    assert f"{LOCAL_IP}:53" in text and "no interface has" in text, text
    assert node_rules() == [] and interface_addresses() is None


def test_a_hand_over_keeps_the_node_set_up(node_and_pod, tmp_path):
    """The old process leaves its rules and interface to the successor that took its sockets; the
    successor removes them when it exits."""
    handoff = str(tmp_path / "handoff.sock")
    old = NodeFedns(extra_args=("--node-setup", "--handoff-socket", handoff)).wait_listening()
    new = NodeFedns(extra_args=("--node-setup", "--handoff-socket", handoff))
    try:
        wait_until(lambda: "hand-over: serving the sockets of the previous process" in new.text(), 60, interval=0.1,
                   what="the successor to take over")
        wait_until(lambda: "hand-over: drained" in old.text(), 60, interval=0.1, what="the old process to drain")
        old.proc.send_signal(signal.SIGTERM)
        assert old.proc.wait(60) == 0
        assert "node set-up left in place" in old.text() and "handed over" in old.text()
        assert sorted(node_rules()) == sorted(expected_rules()), "kept across the hand-over, each rule once"
        assert interface_addresses() == [f"{LOCAL_IP}/32"]
        assert pod_lookup("nginx.mynamespace.svc.cluster.local").split()[0] == NGINX_IP
    finally:
        old.stop()
        code = new.stop()
    assert code == 0
    assert node_rules() == [] and interface_addresses() is None
