"""What must survive hostile or busy clients, and how the process starts and stops."""

import random
import signal
import socket
import struct
import subprocess
import time

import dns.exception
import dns.message
import dns.rcode
import pytest

from clusterdata import CLUSTER_TTL, NGINX_IP, cluster_state, fedns_config
from dnscheck import assert_section
from servers import Fedns, ask, fedns_binary, free_port, recv_exact

T = CLUSTER_TTL


def test_garbage_burst_then_still_answers(fedns):
    """10,000 junk datagrams (random bytes, and valid queries with bytes flipped), then a real query."""
    rng = random.Random(20240611)       # fixed seed: a failure can be replayed
    valid = [dns.message.make_query(n, t, use_edns=0).to_wire() for n, t in [
        ("nginx.mynamespace.svc.cluster.local.", "A"), ("_pg._tcp.db.mynamespace.svc.cluster.local.", "SRV"),
        ("nginx.mynamespace.myfederation.", "A"), ("10.0.96.10.in-addr.arpa.", "PTR")]]
    sent = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.setblocking(False)
        deadline = time.monotonic() + 30
        while sent < 10_000 and time.monotonic() < deadline:
            if sent % 2:
                packet = bytes(rng.getrandbits(8) for _ in range(rng.randrange(0, 300)))
            else:
                packet = bytearray(rng.choice(valid))
                for _ in range(rng.randrange(1, 6)):
                    packet[rng.randrange(len(packet))] = rng.getrandbits(8)
                packet = bytes(packet)
            try:
                s.sendto(packet, fedns.address)
                sent += 1
            except BlockingIOError:
                time.sleep(0.001)   # our send buffer is full: let the server catch up
            if sent % 200 == 0:
                try:
                    while s.recv(65535):
                        pass
                except BlockingIOError:
                    pass
    assert sent == 10_000
    assert fedns.proc.poll() is None, "fedns died under the burst"
    # The burst's backlog is worked off first; on a loaded machine that takes a while, so ask until
    # an answer comes (bounded), then check it.
    r = None
    deadline = time.monotonic() + 60
    while r is None and time.monotonic() < deadline:
        try:
            r = ask(fedns.address, "nginx.mynamespace.svc.cluster.local.", "A", timeout=2)
        except dns.exception.Timeout:
            assert fedns.proc.poll() is None, "fedns died after the burst"
    assert r is not None, "no answer within 60 s of the burst"
    assert_section(r.answer, f"nginx.mynamespace.svc.cluster.local. {T} A {NGINX_IP}")
    r = ask(fedns.address, "nginx.mynamespace.svc.cluster.local.", "A", tcp=True, timeout=3)
    assert_section(r.answer, f"nginx.mynamespace.svc.cluster.local. {T} A {NGINX_IP}")


def test_tcp_pipelining_answers_every_query_on_one_connection(fedns):
    """RFC 7766: several queries in one write; answers may come in any order, matched by ID."""
    questions = {
        0x0101: ("nginx.mynamespace.svc.cluster.local.", "A", f"nginx.mynamespace.svc.cluster.local. {T} A {NGINX_IP}"),
        0x0102: ("www.example.com.", "A", "www.example.com. <=300 A 198.51.100.1"),      # forwarded: slower
        0x0103: ("db-0.db.mynamespace.svc.cluster.local.", "A", f"db-0.db.mynamespace.svc.cluster.local. {T} A 10.2.0.1"),
        0x0104: ("nginx.mynamespace.myfederation.", "A", f"nginx.mynamespace.myfederation. {T} A {NGINX_IP}"),
        0x0105: ("dns-version.cluster.local.", "TXT", 'dns-version.cluster.local. 28800 TXT "1.1.0"'),
        0x0106: ("web.mynamespace.myfederation.", "CNAME",
                 f"web.mynamespace.myfederation. {T} CNAME web.mynamespace.myfederation.svc.us-central1-a.example.com."),
        0x0107: ("10.0.96.10.in-addr.arpa.", "PTR", f"10.0.96.10.in-addr.arpa. {T} PTR nginx.mynamespace.svc.cluster.local."),
        0x0108: ("kubernetes.default.svc.cluster.local.", "A", f"kubernetes.default.svc.cluster.local. {T} A 10.96.0.1"),
    }
    stream = b""
    for qid, (name, rdtype, _) in questions.items():
        q = dns.message.make_query(name, rdtype, use_edns=0)
        q.id = qid
        wire = q.to_wire()
        stream += struct.pack("!H", len(wire)) + wire
    answers = {}
    with socket.create_connection(fedns.address, timeout=3) as s:
        s.sendall(stream)
        for _ in questions:
            (length,) = struct.unpack("!H", recv_exact(s, 2))
            msg = dns.message.from_wire(recv_exact(s, length))
            assert msg.id in questions and msg.id not in answers, f"unexpected or repeated ID {msg.id:#x}"
            answers[msg.id] = msg
    for qid, (name, rdtype, expected) in questions.items():
        msg = answers[qid]
        assert msg.question[0].name.to_text() == name
        assert_section(msg.answer, expected, what=f"answer to {name} {rdtype}")


def test_sigterm_exits_zero_after_lameduck(start_fedns):
    """SIGTERM: keep answering through lameduck (default 5 s), then exit 0."""
    server = start_fedns()
    server.signal(signal.SIGTERM)
    t0 = time.monotonic()
    r = ask(server.address, "nginx.mynamespace.svc.cluster.local.", "A", timeout=1)
    assert r.rcode() == dns.rcode.NOERROR, "stopped answering at once: no lameduck"
    try:
        code = server.proc.wait(timeout=5 + 5)
    except subprocess.TimeoutExpired:
        pytest.fail("fedns still running 10 s after SIGTERM (lameduck 5 s + 5 s)")
    assert code == 0, f"exit code {code} after SIGTERM, {time.monotonic() - t0:.1f}s"


def test_check_config_accepts_a_good_file_and_rejects_a_bad_one(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(fedns_config(("127.0.0.2", 5300)))
    out = subprocess.run([fedns_binary(), "check-config", str(good)], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    bad = tmp_path / "bad.yaml"
    bad.write_text(fedns_config(("127.0.0.2", 5300)).replace("{myfederation: example.com}", "{svc: example.com}"))
    out = subprocess.run([fedns_binary(), "check-config", str(bad)], capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, "a federation named `svc` must be rejected"
    line = next(i for i, text in enumerate(bad.read_text().splitlines(), 1) if "{svc: example.com}" in text)
    assert f"{bad}:{line}: federations.svc:" in out.stdout + out.stderr, "the error should name file, line and key"
    cluster = tmp_path / "cluster.yaml"
    cluster.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: ns}\n"
                       "spec:\n  clusterIP: 10.0.0.x\n")
    out = subprocess.run([fedns_binary(), "check-config", str(good), "--cluster-state", str(cluster)],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode != 0, "a bad ClusterIP must be rejected"
    assert f"{cluster}:5: Service ns/web: spec.clusterIP:" in out.stdout + out.stderr, out.stdout + out.stderr


def test_check_config_reads_the_kubeconfig_as_serve_does(tmp_path):
    """A config for the API source is checked with its kubeconfig: the file, the context and what it names."""
    config = tmp_path / "fedns.yaml"
    kubeconfig = tmp_path / "kubeconfig"
    config.write_text(f"source: {{type: kubernetes, kubeconfig: {kubeconfig}, context: prod}}\n")

    def check() -> subprocess.CompletedProcess:
        return subprocess.run([fedns_binary(), "check-config", str(config)], capture_output=True, text=True, timeout=30)

    out = check()
    assert out.returncode != 0, "a missing kubeconfig must be reported"
    assert str(kubeconfig) in out.stdout + out.stderr, out.stdout + out.stderr
    kubeconfig.write_text("apiVersion: v1\nkind: Config\ncurrent-context: dev\n"
                          "clusters: [{name: c, cluster: {server: 'https://127.0.0.1:6443', insecure-skip-tls-verify: true}}]\n"
                          "users: [{name: u, user: {token: abc}}]\n"
                          "contexts: [{name: dev, context: {cluster: c, user: u}}]\n")
    out = check()
    assert out.returncode != 0, "a context the kubeconfig lacks must be reported"
    assert "prod" in out.stdout + out.stderr, out.stdout + out.stderr
    config.write_text(f"source: {{type: kubernetes, kubeconfig: {kubeconfig}, context: dev}}\n")
    out = check()
    assert out.returncode == 0, out.stdout + out.stderr
    assert "kubernetes API" in out.stdout, out.stdout


def test_version_prints_and_exits_zero():
    out = subprocess.run([fedns_binary(), "--version"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0 and out.stdout.strip(), out.stdout + out.stderr



def test_forwarding_loop_is_found_at_start_up_and_fedns_exits_with_a_clear_message():
    """Forwarding loops (docs/behaviour.md, forwarding): two resolvers forwarding to each other. The second one started probes, its probe
    comes back through the first, and it exits non-zero naming the loop (as CoreDNS `loop` does)."""

    a_port, b_port = free_port(), free_port()
    a = Fedns(config=fedns_config(("127.0.0.1", b_port)), state=cluster_state(), port=a_port)
    b = Fedns(config=fedns_config(("127.0.0.1", a_port)), state=cluster_state(), port=b_port)
    a.start()
    try:
        b.start(wait_ready=False)
        try:
            code = b.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            pytest.fail("fedns kept running although its upstream forwards back to it")
        log = open(b.log).read()
        assert code != 0, log
        assert "forwarding loop" in log, log
    finally:
        b.stop()
        a.stop()


def test_admin_endpoints_health_ready_and_metrics(knot, tmp_path):
    """Health and readiness (docs/operating.md): /health, /ready (503 until the first sync) and Prometheus /metrics with the
    request counters, the reload counter and the event-to-answer delay after a state change."""
    import urllib.error
    import urllib.request
    from k8sobjects import write_atomically

    ports = {name: free_port() for name in ("health", "ready", "metrics")}
    config = fedns_config(knot.address)
    for name, port in ports.items():
        config = config.replace(f'{name}: {{listen: ""}}', f'{name}: {{listen: "127.0.0.1:{port}"}}')
    server = Fedns(config=config, state=cluster_state()).start()
    try:
        def get(name: str, path: str) -> tuple[int, str]:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{ports[name]}{path}", timeout=3) as r:
                    return r.status, r.read().decode()
            except urllib.error.HTTPError as e:
                return e.code, e.read().decode()

        assert get("health", "/health")[0] == 200
        assert get("ready", "/ready")[0] == 200
        ask(server.address, "nginx.mynamespace.svc.cluster.local.", "A")
        write_atomically(server.state_path, cluster_state(nginx_ready=False))
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            status, text = get("metrics", "/metrics")
            if 'fedns_cluster_reloads_total{result="success"} 2' in text:
                break
            time.sleep(0.1)
        assert status == 200
        assert 'fedns_cluster_reloads_total{result="success"} 2' in text, text[:2000]
        assert "fedns_cluster_event_to_answer_seconds_count 1" in text, text[:2000]
        assert 'fedns_dns_requests_total{proto="udp",family="ipv4",type="A"}' in text
        assert "fedns_dns_request_duration_seconds_bucket" in text
        server.signal(signal.SIGTERM)
        time.sleep(0.5)
        assert get("ready", "/ready")[0] == 503, "/ready must answer 503 during lameduck"
    finally:
        server.stop()


def test_identity_answers_ch_txt_when_on(knot):
    """RFC 4892: with `identity` set, CH TXT id.server. and hostname.bind. name the server."""
    server = Fedns(config=fedns_config(knot.address) + "identity: node-a.fedns\n", state=cluster_state()).start()
    try:
        for qname in ("id.server.", "hostname.bind."):
            r = ask(server.address, qname, "TXT", rdclass="CH")
            assert r.rcode() == dns.rcode.NOERROR, r
            assert [rr.to_text() for rrset in r.answer for rr in rrset] == ['"node-a.fedns"']
        r = ask(server.address, "version.bind.", "TXT", rdclass="CH")
        assert r.rcode() == dns.rcode.REFUSED
    finally:
        server.stop()


def test_clients_outside_allowed_networks_are_refused(knot):
    """allowedNetworks (docs/behaviour.md, the gate): fedns is not an open resolver. Loopback is outside 10/8, so this client is refused
    over UDP and TCP, with the question echoed. (Every other test runs with the default list, which
    allows loopback.)"""
    refused = Fedns(config=fedns_config(knot.address) + 'allowedNetworks: ["10.0.0.0/8"]\n', state=cluster_state())
    refused.start(wait_ready=False)
    try:
        deadline = time.monotonic() + 10
        r = None
        while time.monotonic() < deadline:
            try:
                r = ask(refused.address, "nginx.mynamespace.svc.cluster.local.", "A", timeout=0.5)
                break
            except Exception:
                time.sleep(0.1)
        assert r is not None, "no answer at all"
        assert r.rcode() == dns.rcode.REFUSED and not r.answer
        assert r.question[0].name.to_text() == "nginx.mynamespace.svc.cluster.local."
        r = ask(refused.address, "nginx.mynamespace.svc.cluster.local.", "A", tcp=True)
        assert r.rcode() == dns.rcode.REFUSED
    finally:
        refused.stop()


def test_a_flood_for_a_silent_upstream_is_refused_beyond_the_limit_and_cluster_names_still_answer(tmp_path):
    """STYLE §7, no unbounded queues: 1,000 distinct forwarded names toward an upstream that never
    answers, faster than the 4 s budget lets any finish. Past `forward.maxConcurrent` (300 here,
    4,096 by default) waiting queries fedns answers REFUSED at once (as CoreDNS forward's
    max_concurrent) — the waiting ones get SERVFAIL when the budget ends — and cluster names are
    answered meanwhile."""
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))            # bound, never read: every query to it times out
    try:
        # A lower limit than the default 4,096 keeps the test far from what the kernel can buffer.
        config = fedns_config(silent.getsockname()) + "forward: {maxConcurrent: 300}\n"
        server = Fedns(config=config, state=cluster_state()).start()
        try:
            client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
            client.settimeout(0.5)
            # All at once (fedns's 4 MiB receive buffer holds them): sent within far less than the 4 s
            # budget even on a loaded machine, so no waiting query can finish and free its slot meanwhile.
            queries = [dns.message.make_query(f"n{i}.flood.example.", "A", id=i).to_wire() for i in range(1000)]
            for q in queries:
                client.sendto(q, server.address)
            # The forwarder is full; a cluster name never waits on it.
            r = ask(server.address, "nginx.mynamespace.svc.cluster.local.", "A", timeout=1)
            assert r.rcode() == dns.rcode.NOERROR and r.answer
            rcodes = {"REFUSED": 0, "SERVFAIL": 0}
            deadline = time.monotonic() + 8
            while time.monotonic() < deadline and sum(rcodes.values()) < 1000:
                try:
                    data, _ = client.recvfrom(4096)
                except socket.timeout:
                    continue
                rcode = dns.rcode.to_text(dns.message.from_wire(data).rcode())
                rcodes[rcode] = rcodes.get(rcode, 0) + 1
            refused = rcodes["REFUSED"]
            assert rcodes["SERVFAIL"] <= 300, rcodes
            assert refused > 0, f"no query was refused: the waiting queries are not bounded ({rcodes})"
            client.close()
        finally:
            server.stop()
    finally:
        silent.close()
