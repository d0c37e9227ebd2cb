"""`fedns publish` against Knot DNS as the zone's primary: TSIG-signed RFC 2136 UPDATEs over TCP, checked
with dnspython queries to Knot (never with fedns's own code)."""

from __future__ import annotations

import os
import tempfile
import time

import pytest

from publishing import (CLUSTERS, OTHER_KEY_NAME, OTHER_SECRET, P, Primary, Watcher, publisher_config, run_publish,
                        write_states)
from servers import free_port, wait_until

THREE_REGIONS = {"gce-asia-east1": 2, "gce-us-central1": 2, "gce-us-east1": 2}     # Europe has no backends
OWNERSHIP = '"heritage=fedns,owner=myfederation"'


def name(where: str = "") -> str:
    return f"{P}.{where + '.' if where else ''}example.com."


@pytest.fixture
def primary():
    server = Primary().start()
    yield server
    server.stop()


@pytest.fixture
def states():
    with tempfile.TemporaryDirectory(prefix="fedns-publish-") as d:
        write_states(d, THREE_REGIONS)
        yield d


def config_file(states: str, text: str) -> str:
    path = os.path.join(states, "publish.yaml")
    with open(path, "w") as f:
        f.write(text)
    return path


@pytest.mark.parametrize("topology_from_nodes", [False, True], ids=["zone-in-config", "zone-from-node-labels"])
def test_once_publishes_the_announcement_record_set(primary, states, topology_from_nodes):
    path = config_file(states, publisher_config(primary, states, topology_from_nodes=topology_from_nodes))
    r = run_publish(path, "--once")
    assert r.returncode == 0, r.stderr
    assert primary.rrset(name(), "A") == {"198.51.100.10", "203.0.113.30", "203.0.113.40"}
    assert primary.rrset(name("us-central1"), "A") == {"203.0.113.30"}
    assert primary.rrset(name("us-central1-a"), "A") == {"203.0.113.30"}
    assert primary.rrset(name("asia-east1-a"), "A") == {"198.51.100.10"}
    assert primary.rrset(name("europe-west1"), "CNAME") == {name()}
    assert primary.rrset(name("europe-west1-b"), "CNAME") == {name("europe-west1")}
    assert primary.rrset("_fedns." + name("us-east1-b"), "TXT") == {OWNERSHIP}
    assert primary.query(name(), "A").answer[0].ttl == 180
    # A second run finds nothing to change and sends nothing: the zone's serial stays.
    serial = primary.serial()
    r = run_publish(path, "--once")
    assert r.returncode == 0, r.stderr
    assert primary.serial() == serial


def test_no_backends_anywhere_publishes_cnames_up_and_no_global_name(primary, states):
    write_states(states, {})
    r = run_publish(config_file(states, publisher_config(primary, states)), "--once")
    assert r.returncode == 0, r.stderr
    assert primary.rrset(name("us-central1-a"), "CNAME") == {name("us-central1")}
    assert primary.rrset(name("us-central1"), "CNAME") == {name()}
    assert primary.rcode(name()) == "NXDOMAIN"


def test_dry_run_prints_the_plan_and_changes_nothing(primary, states):
    serial = primary.serial()
    r = run_publish(config_file(states, publisher_config(primary, states)), "--dry-run")
    assert r.returncode == 0, r.stderr
    assert "; add" in r.stdout
    adds = [line.split() for line in r.stdout.splitlines() if line and not line.startswith(";")]
    assert [name(), "180", "IN", "A", "203.0.113.30"] in adds
    assert [name("europe-west1"), "180", "IN", "CNAME", name()] in adds
    assert primary.serial() == serial
    assert primary.rcode(name()) == "NXDOMAIN"


def test_a_shard_going_unhealthy_changes_only_what_it_must(primary, states):
    path = config_file(states, publisher_config(primary, states))
    assert run_publish(path, "--once").returncode == 0
    write_states(states, {"gce-asia-east1": 2, "gce-us-east1": 2})
    r = run_publish(path, "--dry-run")
    deleted = [line.split() for line in r.stdout.split("; add")[0].splitlines() if line and not line.startswith(";")]
    assert sorted(d[0] for d in deleted) == sorted([name(), name("us-central1"), name("us-central1-a")])
    assert run_publish(path, "--once").returncode == 0
    assert primary.rrset(name(), "A") == {"198.51.100.10", "203.0.113.40"}
    assert primary.rrset(name("us-central1"), "CNAME") == {name()}
    assert primary.rrset(name("us-central1-a"), "CNAME") == {name("us-central1")}


def test_a_name_without_fedns_ownership_is_never_touched(primary, states):
    primary.foreign_update(name("us-east1-b"), "A", "192.0.2.99")
    r = run_publish(config_file(states, publisher_config(primary, states)), "--once")
    assert r.returncode == 1
    assert "conflict" in r.stderr and name("us-east1-b") in r.stderr
    assert primary.rrset(name("us-east1-b"), "A") == {"192.0.2.99"}
    assert primary.rrset("_fedns." + name("us-east1-b"), "TXT") == set()
    assert primary.rrset(name("us-east1"), "A") == {"203.0.113.40"}      # the rest is published


def test_a_change_made_behind_fedns_back_is_repaired(primary, states):
    path = config_file(states, publisher_config(primary, states))
    assert run_publish(path, "--once").returncode == 0
    primary.foreign_update(name("us-central1"), "A", "192.0.2.55")
    r = run_publish(path, "--once")
    assert r.returncode == 0, r.stderr
    assert primary.rrset(name("us-central1"), "A") == {"203.0.113.30"}


@pytest.mark.parametrize("key,secret,expect", [
    ("fedns-key", OTHER_SECRET, "BADSIG"),           # the right key name, the wrong secret
    ("no-such-key", OTHER_SECRET, "BADKEY"),         # a key the primary does not know
    (OTHER_KEY_NAME, OTHER_SECRET, "NOTAUTH"),       # a known key the zone's acl does not allow
])
def test_a_key_the_primary_does_not_accept_is_reported_and_changes_nothing(primary, states, key, secret, expect):
    serial = primary.serial()
    r = run_publish(config_file(states, publisher_config(primary, states, key=key, secret=secret)), "--once")
    assert r.returncode == 1
    assert expect in r.stderr, r.stderr
    assert primary.serial() == serial


def test_an_unreachable_primary_is_reported(primary, states):
    port = free_port("127.0.0.54")
    r = run_publish(config_file(states, publisher_config(primary, states, server=f"127.0.0.54:{port}")), "--once")
    assert r.returncode == 1
    assert "unreachable" in r.stderr


def test_bad_config_names_the_field(primary, states):
    path = config_file(states, publisher_config(primary, states) + "ownr: x\n")
    r = run_publish(path, "--once")
    assert r.returncode == 2
    assert "ownr" in r.stdout + r.stderr


def test_watching_follows_the_clusters_with_metrics_and_ready(primary, states):
    admin = free_port()
    w = Watcher(config_file(states, publisher_config(primary, states, admin=f"127.0.0.1:{admin}", unhealthy_after="3s")),
                admin_port=admin).start()
    try:
        w.wait_ready()
        assert primary.rrset(name("us-central1"), "A") == {"203.0.113.30"}
        # The us-central1 backends fail: the names there go up the hierarchy.
        write_states(states, {"gce-asia-east1": 2, "gce-us-east1": 2})
        wait_until(lambda: primary.rrset(name("us-central1"), "CNAME") == {name()}, 30, interval=0.05,
                   what="us-central1 regional name to become a CNAME")
        assert primary.rrset(name(), "A") == {"198.51.100.10", "203.0.113.40"}
        # They come back.
        write_states(states, THREE_REGIONS)
        wait_until(lambda: primary.rrset(name("us-central1"), "A") == {"203.0.113.30"}, 30, interval=0.05,
                   what="us-central1 regional name to hold its address again")
        # A cluster that cannot be read keeps its shards until clusterUnhealthyAfter (3 s), then loses them.
        with open(os.path.join(states, "gce-us-east1.yaml"), "w") as f:
            f.write("kind: Service\nmetadata: {name: [broken\n")
        time.sleep(1)
        assert primary.rrset(name("us-east1"), "A") == {"203.0.113.40"}
        wait_until(lambda: primary.rrset(name("us-east1"), "CNAME") == {name()}, 30, interval=0.1,
                   what="an unreadable cluster's shards to go out")
        status, metrics = w.get("/metrics")
        assert status == 200
        assert 'fedns_publish_updates_total{result="success"}' in metrics
        assert "fedns_publish_clusters_healthy 3" in metrics
        assert "fedns_publish_records_managed" in metrics
        assert "fedns_publish_seconds_since_last_reconcile" in metrics
        assert w.stop() == 0          # SIGTERM: the loop ends, exit 0
    finally:
        w.stop()


def test_a_reply_whose_tsig_does_not_verify_is_not_believed(states, tmp_path):
    """A primary (here a stand-in) that answers with a MAC made from another secret: fedns refuses the reply."""
    import socket
    import struct
    import threading

    import dns.message
    import dns.tsigkeyring

    from publishing import KEY_NAME, KEY_SECRET

    right = dns.tsigkeyring.from_text({KEY_NAME: KEY_SECRET})
    wrong = dns.tsigkeyring.from_text({KEY_NAME: OTHER_SECRET})
    listener = socket.socket()
    listener.bind(("127.0.0.55", 0))
    listener.listen(4)
    seen = []

    def serve():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                length = struct.unpack("!H", conn.recv(2, socket.MSG_WAITALL))[0]
                query = dns.message.from_wire(conn.recv(length, socket.MSG_WAITALL), keyring=right)
                seen.append(query.had_tsig)
                reply = dns.message.make_response(query)
                reply.use_tsig(wrong, keyname=KEY_NAME, algorithm="hmac-sha256")
                wire = reply.to_wire()
                conn.sendall(struct.pack("!H", len(wire)) + wire)
    threading.Thread(target=serve, daemon=True).start()
    try:
        fake = Primary(host="127.0.0.55", port=listener.getsockname()[1])
        r = run_publish(config_file(states, publisher_config(fake, states)), "--once")
    finally:
        listener.close()
    assert seen and all(seen)                 # the request was signed with the right key
    assert r.returncode == 1
    assert "does not verify" in r.stderr, r.stderr
