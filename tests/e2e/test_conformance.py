"""The conformance kit (conformance/README.md) run black-box: against the real fedns binary (the
runner starts it per scenario), against a deliberately wrong scenario (the report must show a
diff), and its static subset against Unbound configured with the same data, to show the kit works
against a server that is not fedns.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.dirname(__file__))

from servers import REPO, ask, fedns_binary, free_port, stop_process, tail, wait_until  # noqa: E402

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?$")


def kit(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([fedns_binary(), "conformance", "run", *args], cwd=REPO, capture_output=True,
                          text=True, timeout=timeout)


def summary(out: str) -> tuple[int, int, int]:
    last = out.strip().splitlines()[-1]
    m = SUMMARY.match(last)
    assert m, f"last line is not a summary: {last!r}"
    return int(m.group(1)), int(m.group(2)), int(m.group(3) or 0)


def test_representative_subset_against_the_fedns_binary(tmp_path):
    junit = tmp_path / "results.xml"
    r = kit("conformance/cluster", "conformance/federation", "conformance/forward", "conformance/gate", "conformance/search-path",
            "--fedns-binary", fedns_binary(), "--junit", str(junit))
    assert r.returncode == 0, r.stdout + r.stderr
    passed, failed, skipped = summary(r.stdout)
    assert failed == 0 and passed >= 60, r.stdout
    lines = r.stdout.strip().splitlines()[:-1]
    assert all(re.match(r"^(ok  |skip) ", line) for line in lines), r.stdout
    xml = junit.read_text()
    assert 'failures="0"' in xml and f'tests="{passed + skipped}"' in xml


WRONG = """\
name: deliberately wrong
tags: [blackbox]
config: {clusterDomain: cluster.local}
cluster:
  - apiVersion: v1
    kind: Service
    metadata: {name: nginx, namespace: mynamespace}
    spec: {type: ClusterIP, clusterIP: 10.96.10.10, clusterIPs: [10.96.10.10], ports: [{name: http, port: 80, protocol: TCP}]}
steps:
  - query: {name: nginx.mynamespace.svc.cluster.local., type: A}
    expect:
      answer: nginx.mynamespace.svc.cluster.local. 5 IN A 10.96.10.99
"""


def test_a_wrong_expectation_is_reported_with_a_diff(tmp_path):
    scenario = tmp_path / "wrong.yaml"
    scenario.write_text(WRONG)
    junit = tmp_path / "results.xml"
    r = kit(str(scenario), "--fedns-binary", fedns_binary(), "--junit", str(junit))
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.startswith("FAIL deliberately wrong"), r.stdout
    assert "- nginx.mynamespace.svc.cluster.local.\t5\tIN\tA\t10.96.10.99" in r.stdout
    assert "+ nginx.mynamespace.svc.cluster.local.\t5\tIN\tA\t10.96.10.10" in r.stdout
    assert summary(r.stdout) == (0, 1, 0)
    assert 'failures="1"' in junit.read_text()


# The cluster and federation records of the static scenarios, as Unbound local-data.
UNBOUND_DATA = """\
local-zone: "cluster.local." static
local-zone: "myfederation." static
local-zone: "10.in-addr.arpa." static
local-zone: "0.0.d.f.ip6.arpa." static
local-data: "nginx.mynamespace.svc.cluster.local. 5 IN A 10.96.10.10"
local-data: "dual.mynamespace.svc.cluster.local. 5 IN A 10.96.10.30"
local-data: "dual.mynamespace.svc.cluster.local. 5 IN AAAA fd00::30"
local-data: "db.mynamespace.svc.cluster.local. 5 IN A 10.244.1.20"
local-data: "db.mynamespace.svc.cluster.local. 5 IN A 10.244.2.21"
local-data: "db-0.db.mynamespace.svc.cluster.local. 5 IN A 10.244.1.20"
local-data: "db-1.db.mynamespace.svc.cluster.local. 5 IN A 10.244.2.21"
local-data: "_http._tcp.nginx.mynamespace.svc.cluster.local. 5 IN SRV 0 100 80 nginx.mynamespace.svc.cluster.local."
local-data: "ext.mynamespace.svc.cluster.local. 5 IN CNAME www.example.org."
local-data: 'dns-version.cluster.local. 28800 IN TXT "1.1.0"'
local-data: "10.10.96.10.in-addr.arpa. 5 IN PTR nginx.mynamespace.svc.cluster.local."
local-data: "20.1.244.10.in-addr.arpa. 5 IN PTR db-0.db.mynamespace.svc.cluster.local."
local-data: "nginx.mynamespace.myfederation. 5 IN A 10.96.10.10"
local-data: "10-244-2-7.api.mynamespace.svc.cluster.local. 5 IN A 10.244.2.7"
local-data: "7.2.244.10.in-addr.arpa. 5 IN PTR 10-244-2-7.api.mynamespace.svc.cluster.local."
local-data: "fd00-244--7.api.mynamespace.svc.cluster.local. 5 IN AAAA fd00:244::7"
local-data: "7.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.4.4.2.0.0.0.d.f.ip6.arpa. 5 IN PTR fd00-244--7.api.mynamespace.svc.cluster.local."
"""


@pytest.fixture
def unbound(tmp_path):
    binary = shutil.which("unbound") or "/usr/sbin/unbound"
    if not os.path.exists(binary):
        pytest.fail("unbound is not installed (scripts/install-deps.sh installs it)")
    port = free_port("127.0.0.1")
    conf = tmp_path / "unbound.conf"
    conf.write_text(f"""\
server:
  interface: 127.0.0.1@{port}
  port: {port}
  do-daemonize: no
  use-syslog: no
  logfile: "{tmp_path}/unbound.log"
  chroot: ""
  username: ""
  directory: "{tmp_path}"
  pidfile: "{tmp_path}/unbound.pid"
  access-control: 127.0.0.0/8 allow
  do-not-query-localhost: yes
  qname-minimisation: no
""" + "".join("  " + line + "\n" for line in UNBOUND_DATA.splitlines()) + """\
remote-control:
  control-enable: no
""")
    proc = subprocess.Popen([binary, "-d", "-c", str(conf)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: proc.poll() is None and ask(("127.0.0.1", port), "dns-version.cluster.local", "TXT", timeout=0.3),
                   10, what=f"unbound on 127.0.0.1:{port}\n{tail(str(tmp_path / 'unbound.log'))}")
        yield ("127.0.0.1", port)
    finally:
        stop_process(proc, grace=10)


def test_static_subset_against_unbound(unbound):
    host, port = unbound
    r = kit("conformance", "--server", f"{host}:{port}")
    assert r.returncode == 0, r.stdout + r.stderr
    passed, failed, skipped = summary(r.stdout)
    static = [line for line in r.stdout.splitlines() if line.startswith("ok ")]
    assert failed == 0 and passed == len(static) >= 10, r.stdout
    assert skipped > 0 and all("not tagged static" in line for line in r.stdout.splitlines() if line.startswith("skip "))
