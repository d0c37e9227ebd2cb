"""A real Prometheus scrapes fedns under queries; the coredns-mixin's alert expressions and fedns's
own rules, queried over Prometheus's HTTP API, give the values the queries call for.

fedns runs from a state file with three upstreams: Knot (the public federation zone), a stub
domain whose server answers SERVFAIL to everything, and a stub domain whose server is not there
(a closed port). Prometheus (Debian's `prometheus`) scrapes every second and loads
deploy/monitoring/rules/fedns.rules.yaml. The mixin's expressions are used as written, with their
`corednsSelector` set to fedns's scrape job as an operator configures it.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import socket
import subprocess
import tempfile
import threading
import urllib.parse
import urllib.request

import dns.message
import dns.rcode
import pytest
import yaml

from clusterdata import cluster_state, fedns_config
from servers import REPO, Fedns, ask, free_port, stop_process, tail, wait_until

MONITORING = os.path.join(REPO, "deploy", "monitoring")
RULES = os.path.join(MONITORING, "rules", "fedns.rules.yaml")
SELECTOR = 'job="fedns"'

# The coredns-mixin's alert expressions (alerts/coredns.libsonnet, alerts/forward.libsonnet) with
# corednsSelector = job="fedns"; the threshold left off where the test reads the value itself.
SERVFAIL_RATIO = (
    f'sum without (pod, instance, server, zone, view, rcode, plugin) (rate(coredns_dns_responses_total{{{SELECTOR},rcode="SERVFAIL"}}[5m]))'
    f' / sum without (pod, instance, server, zone, view, rcode, plugin) (rate(coredns_dns_responses_total{{{SELECTOR}}}[5m]))')
LATENCY_P99 = f'histogram_quantile(0.99, sum(rate(coredns_dns_request_duration_seconds_bucket{{{SELECTOR}}}[5m])) without (instance,pod))'
FORWARD_SERVFAIL_RATIO = (
    f'sum without (pod, instance, rcode) (rate(coredns_forward_responses_total{{{SELECTOR},rcode="SERVFAIL"}}[5m]))'
    f' / sum without (pod, instance, rcode) (rate(coredns_forward_responses_total{{{SELECTOR}}}[5m]))')
FORWARD_LATENCY_P99 = (
    f'histogram_quantile(0.99, sum(rate(coredns_forward_request_duration_seconds_bucket{{{SELECTOR}}}[5m])) without (pod, instance, rcode))')
HEALTHCHECK_FAILURES = f'sum without (pod, instance) (rate(coredns_forward_healthcheck_failures_total{{{SELECTOR}}}[5m])) > 0'
PROXY_HEALTHCHECK_FAILURES = f'sum without (pod, instance) (rate(coredns_proxy_healthcheck_failures_total{{{SELECTOR}}}[5m])) > 0'


def binary(name: str) -> str:
    path = shutil.which(name)
    if not path:
        raise RuntimeError(f"{name} not found: run scripts/install-deps.sh (apt package prometheus)")
    return path


class ServfailUpstream:
    """A UDP DNS server on loopback that answers every query SERVFAIL."""

    def __init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.2)
        self.address = self.sock.getsockname()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self.serve, daemon=True)
        self.thread.start()

    def serve(self) -> None:
        while not self.stopped.is_set():
            try:
                data, peer = self.sock.recvfrom(4096)
            except OSError:
                continue
            try:
                reply = dns.message.make_response(dns.message.from_wire(data))
            except Exception:
                continue
            reply.set_rcode(dns.rcode.SERVFAIL)
            self.sock.sendto(reply.to_wire(), peer)

    def stop(self) -> None:
        self.stopped.set()
        self.thread.join(2)
        self.sock.close()


class Prometheus:
    """`prometheus` in a temp directory, scraping one target every second and evaluating `rules`."""

    def __init__(self, target: str, rules: list[str]) -> None:
        self.workdir = tempfile.mkdtemp(prefix="fedns-prometheus-")
        self.port = free_port()
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": rules,
            "scrape_configs": [{"job_name": "fedns", "static_configs": [{"targets": [target]}]}],
        }
        path = os.path.join(self.workdir, "prometheus.yml")
        with open(path, "w") as f:
            yaml.safe_dump(config, f)
        self.log = os.path.join(self.workdir, "prometheus.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                [binary("prometheus"), f"--config.file={path}", f"--storage.tsdb.path={self.workdir}/data",
                 f"--web.listen-address=127.0.0.1:{self.port}"],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, cwd=self.workdir)
        wait_until(self.ready, 60, interval=0.2, what="prometheus to be ready")

    def ready(self) -> bool:
        if self.proc.poll() is not None:
            raise RuntimeError(f"prometheus exited with {self.proc.returncode}:\n{tail(self.log)}")
        with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/-/ready", timeout=2) as r:
            return r.status == 200

    def api(self, path: str, **params) -> dict:
        url = f"http://127.0.0.1:{self.port}/api/v1/{path}?" + urllib.parse.urlencode(params)
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, expr: str) -> list[tuple[dict, float]]:
        """The instant vector of `expr`: (labels, value) per series."""
        data = self.api("query", query=expr)
        assert data["resultType"] == "vector", data
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def value(self, expr: str) -> float | None:
        result = self.query(expr)
        assert len(result) <= 1, result
        return result[0][1] if result else None

    def stop(self) -> None:
        stop_process(self.proc, grace=10)
        shutil.rmtree(self.workdir, ignore_errors=True)


@pytest.fixture
def scraped(knot):
    """fedns with its three upstreams, and a Prometheus that has scraped it at least once."""
    servfail = ServfailUpstream()
    dead_port = free_port()   # nothing listens there: tries fail at once (ICMP port unreachable)
    metrics = f"127.0.0.1:{free_port()}"
    config = fedns_config(knot.address).replace('metrics: {listen: ""}', f'metrics: {{listen: "{metrics}"}}')
    config += f'stubDomains: {{"broken.test": ["127.0.0.1:{servfail.address[1]}"], "dead.test": ["127.0.0.1:{dead_port}"]}}\n'
    config += "lameduck: 0\n"   # nothing to drain at the end: stop at once
    server = Fedns(config, cluster_state(), extra_args=["--mode", "node-local", "--node-name", "node-a"]).start()
    prometheus = None
    try:
        prometheus = Prometheus(metrics, [RULES])
        wait_until(lambda: prometheus.value(f'up{{{SELECTOR}}}') == 1, 60, interval=0.2, what="the first scrape of fedns")
        yield server, prometheus, servfail.address, dead_port
    finally:
        if prometheus:
            prometheus.stop()
        server.stop()
        servfail.stop()


def settle(prometheus: Prometheus, expr: str, expected: float) -> None:
    """Wait until the newest scrape shows `expr` at `expected` (never a fixed sleep)."""
    wait_until(lambda: prometheus.value(expr) == expected, 60, interval=0.2,
               what=f"{expr} == {expected} (last {prometheus.value(expr)})")


def test_mixin_and_fedns_rules_evaluate_on_fedns(scraped):
    server, prometheus, servfail, dead_port = scraped
    total = 'sum(fedns_dns_responses_total{job="fedns"})'
    base = {rcode: prometheus.value(f'sum(fedns_dns_responses_total{{job="fedns",rcode="{rcode}"}})') or 0
            for rcode in ("NOERROR", "NXDOMAIN", "SERVFAIL")}
    base_total = prometheus.value(total)
    base_requests = prometheus.value('sum(coredns_dns_requests_total{job="fedns"})')

    sent = {"NOERROR": 0, "NXDOMAIN": 0, "SERVFAIL": 0}

    def query(name: str, rdtype: str, rcode: str) -> None:
        r = ask(server.address, name, rdtype, timeout=5)
        assert dns.rcode.to_text(r.rcode()) == rcode, (name, rdtype, r)
        sent[rcode] += 1

    # First, one query to each answering upstream: their latency histograms appear with it, and
    # the second round below gives them a rate.
    query("www.example.com.", "A", "NOERROR")
    query("a.broken.test.", "A", "SERVFAIL")
    settle(prometheus, total, base_total + 2)
    query("www.example.com.", "AAAA", "NOERROR")
    query("cached.example.com.", "A", "NOERROR")
    query("www.example.com.", "A", "NOERROR")                     # a cache hit
    query("b.broken.test.", "A", "SERVFAIL")
    query("x.dead.test.", "A", "SERVFAIL")
    for _ in range(3):
        query("nginx.mynamespace.svc.cluster.local.", "A", "NOERROR")
    for name in ("nosuch.mynamespace.svc.cluster.local.", "nosuch.default.svc.cluster.local."):
        query(name, "A", "NXDOMAIN")
    # Federation: web's local shard is never ready (a zonal answer), nginx's is (local).
    for _ in range(2):
        query("web.mynamespace.myfederation.svc.cluster.local.", "A", "NOERROR")
    query("nginx.mynamespace.myfederation.svc.cluster.local.", "A", "NOERROR")
    n = sum(sent.values())
    settle(prometheus, total, base_total + n)

    # The CoreDNS series carry the same numbers as fedns's, with CoreDNS's labels.
    assert prometheus.value('sum(coredns_dns_requests_total{job="fedns"})') == base_requests + n
    for rcode, count in sent.items():
        assert prometheus.value(f'sum(coredns_dns_responses_total{{job="fedns",rcode="{rcode}"}})') == base[rcode] + count, rcode
    labels = {tuple(sorted(m.items())) for m, _ in prometheus.query('coredns_dns_responses_total{job="fedns",rcode="SERVFAIL"}')}
    assert labels == {tuple(sorted({"__name__": "coredns_dns_responses_total", "job": "fedns", "instance": prometheus_target(prometheus),
                                    "server": f"dns://:{server.port}", "zone": ".", "rcode": "SERVFAIL"}.items()))}
    assert prometheus.value('sum(coredns_dns_requests_total{job="fedns",proto="udp",family="1",type="AAAA"})') == 1

    # CoreDNSErrorsHigh: the SERVFAIL share of every answer in the window (3 of n); rate's
    # extrapolation differs per series by at most half a scrape, hence the tolerance.
    ratio = prometheus.value(SERVFAIL_RATIO)
    assert ratio == pytest.approx(sent["SERVFAIL"] / n, rel=0.2)
    assert prometheus.value(SERVFAIL_RATIO + " > 0.03") is not None      # the critical alert's condition holds

    # CoreDNSLatencyHigh: a p99 within CoreDNS's buckets, far below its 4 s threshold.
    latency = prometheus.query(LATENCY_P99)
    assert [m["server"] for m, _ in latency] == [f"dns://:{server.port}"]
    assert 0 < latency[0][1] <= 8.192
    assert prometheus.query(LATENCY_P99 + " > 4") == []
    les = {m["le"] for m, _ in prometheus.query('coredns_dns_request_duration_seconds_bucket{job="fedns"}')}
    assert les == {"0.00025", "0.0005", "0.001", "0.002", "0.004", "0.008", "0.016", "0.032", "0.064", "0.128", "0.256",
                   "0.512", "1.024", "2.048", "4.096", "8.192", "+Inf"}

    # CoreDNSForwardErrorsHigh per upstream: every answer of the SERVFAIL server, none of Knot's.
    knot_to = knot_host(server)
    servfail_to = f"127.0.0.1:{servfail[1]}"
    # (The upstream that is not there has no responses at all: 0/0, NaN, no alert.)
    forward = {m["to"]: v for m, v in prometheus.query(FORWARD_SERVFAIL_RATIO) if not math.isnan(v)}
    assert forward == {knot_to: 0.0, servfail_to: 1.0}
    assert prometheus.value(f'sum(coredns_forward_requests_total{{job="fedns",to="{servfail_to}"}})') == 2
    assert prometheus.value(f'sum(coredns_forward_responses_total{{job="fedns",to="{servfail_to}",rcode="SERVFAIL"}})') == 2
    # CoreDNSForwardLatencyHigh: a p99 for each upstream that answered.
    assert {m["to"] for m, v in prometheus.query(FORWARD_LATENCY_P99) if not math.isnan(v)} == {knot_to, servfail_to}
    # CoreDNSForwardHealthcheckFailureCount: the upstream that is not there, and only it.
    dead_to = f"127.0.0.1:{dead_port}"
    assert {m["to"] for m, _ in prometheus.query(HEALTHCHECK_FAILURES)} == {dead_to}
    assert {(m["proxy_name"], m["to"]) for m, _ in prometheus.query(PROXY_HEALTHCHECK_FAILURES)} == {("forward", dead_to)}
    # Cache: the repeated query was a hit.
    assert prometheus.value('sum(coredns_cache_hits_total{job="fedns"})') >= 1
    assert prometheus.value('coredns_build_info{job="fedns"}') == 1

    # fedns's own rules: which fire on this run and which stay quiet.
    rules = {r["alert"]: r["expr"] for g in yaml.safe_load(open(RULES))["groups"] for r in g["rules"]}
    firing = {name for name, expr in rules.items() if prometheus.query(expr)}
    assert firing == {"FednsFederationFallingBack", "FednsForwardFailures", "FednsUpstreamFailing"}
    assert prometheus.value(rules["FednsFederationFallingBack"]) == pytest.approx(2 / 3, rel=0.2)
    assert {m["upstream"] for m, _ in prometheus.query(rules["FednsUpstreamFailing"])} == {dead_to}
    assert prometheus.value('fedns_ready{job="fedns"}') == 1
    assert prometheus.value('sum(fedns_federation_answers_total{job="fedns",result="local"})') == 1
    assert prometheus.value('sum(fedns_federation_answers_total{job="fedns",result!="local"})') == 2
    # Refused at once (ICMP) or timed out, depending on the socket: one query given up either way.
    assert prometheus.value('sum(fedns_forward_failures_total{job="fedns"})') == 1

    # Prometheus loaded every rule and evaluates it without error.
    loaded = [r for g in prometheus.api("rules")["groups"] for r in g["rules"]]
    assert {r["name"] for r in loaded} == set(rules)
    wait_until(lambda: all(r.get("health") == "ok" for g in prometheus.api("rules")["groups"] for r in g["rules"]), 30,
               interval=0.2, what="every rule evaluated")

    # Every dashboard query is valid PromQL over series fedns exposes.
    dashboard = json.load(open(os.path.join(MONITORING, "dashboards", "fedns.json")))
    for panel in dashboard["panels"]:
        for target in panel.get("targets", []):
            expr = (target["expr"].replace("$job", "fedns").replace("$instance", ".*").replace("$__rate_interval", "1m"))
            prometheus.query(expr)   # asserts status success


def prometheus_target(prometheus: Prometheus) -> str:
    return prometheus.query('up{job="fedns"}')[0][0]["instance"]


def knot_host(server: Fedns) -> str:
    """Knot's address as fedns names the upstream (the `upstreams` line of its config)."""
    line = next(line for line in open(server.config_path) if line.startswith("upstreams:"))
    return line.split('"')[1]


def test_rules_pass_promtool_and_match_the_prometheusrule():
    subprocess.run([binary("promtool"), "check", "rules", RULES], check=True, capture_output=True)
    r = subprocess.run([binary("promtool"), "test", "rules", "fedns.rules.test.yaml"], cwd=os.path.dirname(RULES),
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    with open(os.path.join(MONITORING, "prometheusrule.yaml")) as f:
        prometheus_rule = yaml.safe_load(f)
    with open(RULES) as f:
        assert prometheus_rule["spec"] == yaml.safe_load(f), "prometheusrule.yaml must carry rules/fedns.rules.yaml unchanged"
