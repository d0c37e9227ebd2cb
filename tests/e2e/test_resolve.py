"""`fedns resolve` (issue 3): every query a pod's glibc stub sends, against a running server and
in-process from a state file."""

import json
import subprocess

from clusterdata import NGINX_IP, cluster_state, fedns_config
from servers import fedns_binary


def resolve(*args: str) -> dict:
    out = subprocess.run([fedns_binary(), "resolve", *args, "--json"], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stdout + out.stderr
    return json.loads(out.stdout)


def test_resolve_against_a_running_server_walks_the_pod_search_list(fedns):
    host, port = fedns.address
    r = resolve("nginx.mynamespace.myfederation", "--namespace", "default", "--server", f"{host}:{port}",
                "--family", "inet")
    queries = r["trace"]["queries"]
    # ndots:5: the first search element, then svc.<cd> where the federated form answers.
    assert [q["name"] for q in queries] == ["nginx.mynamespace.myfederation.default.svc.cluster.local.",
                                            "nginx.mynamespace.myfederation.svc.cluster.local."]
    assert [q["rcode"] for q in queries] == ["NXDOMAIN", "NOERROR"]
    assert r["trace"]["addresses"] == [NGINX_IP]


def test_resolve_in_process_with_the_sidecar_search_path_takes_one_query(knot, tmp_path):
    config = tmp_path / "fedns.yaml"
    config.write_text(fedns_config(knot.address) + "mode: sidecar\nsearchPath: {namespace: default}\n")
    state = tmp_path / "cluster.yaml"
    state.write_text(cluster_state())
    r = resolve("nginx.mynamespace.myfederation", "--namespace", "default", "--cluster-state", str(state),
                "--config", str(config), "--family", "inet")
    queries = r["trace"]["queries"]
    assert len(queries) == 1, queries
    assert queries[0]["rcode"] == "NOERROR"
    assert r["trace"]["addresses"] == [NGINX_IP]
