"""Real servers on loopback for the end-to-end tests and the benchmark: Knot DNS and fedns.

Every server gets a temp directory, a free port on its own 127.x address, and is stopped by
the code that started it. Nothing here talks to anything but loopback.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field

import dns.message
import dns.query
import dns.rcode
import dns.rdatatype

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on host (DNS listens on both)."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind((host, 0))
            port = u.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as t:
                try:
                    t.bind((host, port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no free UDP+TCP port on {host}")


def stop_process(proc: subprocess.Popen | None, grace: float = 15) -> int | None:
    """SIGTERM, then SIGKILL after `grace` seconds; the exit status (None when there was no process)."""
    if proc is None:
        return None
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(grace)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def ask(server: tuple[str, int], name: str, rdtype: str = "A", *, tcp: bool = False,
        payload: int | None = 1232, timeout: float = 2.0, rdclass: str = "IN") -> dns.message.Message:
    """One query, the way a stub resolver sends it (RD set, EDNS with payload unless payload is None)."""
    q = dns.message.make_query(name, rdtype, rdclass, use_edns=(payload is not None),
                               payload=payload or 512)
    host, port = server
    if tcp:
        return dns.query.tcp(q, host, port=port, timeout=timeout)
    return dns.query.udp(q, host, port=port, timeout=timeout, ignore_trailing=False)


def recv_exact(sock: socket.socket, n: int) -> bytes:
    """Exactly n bytes from a stream socket (a DNS-over-TCP length prefix, then the message)."""
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            raise ConnectionError(f"connection closed after {len(data)} of {n} bytes")
        data += chunk
    return data


class ServerExited(RuntimeError):
    """The process being waited for is gone: waiting longer cannot help."""


def wait_until(predicate, timeout: float, interval: float = 0.05, what: str = "condition"):
    """Poll predicate until it returns a truthy value; raise TimeoutError naming what was awaited."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = predicate()
            if value:
                return value
        except ServerExited:
            raise
        except Exception as e:  # a server still starting refuses or times out
            last_error = e
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout}s waiting for {what}" + (f" (last error: {last_error!r})" if last_error else ""))


def tail(path: str, lines: int = 40) -> str:
    try:
        with open(path, errors="replace") as f:
            return "".join(f.readlines()[-lines:])
    except OSError:
        return "(no log)"


@dataclass
class Knot:
    """knotd serving zone files on host@port, with its rundir and storage in a temp directory."""

    zones: dict[str, str]                # origin (no trailing dot) → zone file text
    host: str = "127.0.0.2"
    port: int = 0
    prefix: list[str] = field(default_factory=list)   # e.g. ["taskset", "-c", "0"]
    also_listen: list[str] = field(default_factory=list)  # more addresses, same port
    extra_config: str = ""                # top-level sections (key, acl…) added to knot.conf
    zone_options: str = ""                # lines added under every zone (e.g. "    acl: x\n")
    journal: str = "none"                 # journal-content: none keeps the zone files as written
    workdir: str = ""
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 10.0) -> "Knot":
        knotd = shutil.which("knotd") or "/usr/sbin/knotd"
        if not os.path.exists(knotd):
            raise RuntimeError("knotd not found: run scripts/install-deps.sh (apt package knot)")
        self.workdir = tempfile.mkdtemp(prefix="fedns-knot-")
        self.port = self.port or free_port(self.host)
        for sub in ("run", "storage", "zones"):
            os.makedirs(os.path.join(self.workdir, sub))
        zone_entries = []
        for origin, text in self.zones.items():
            with open(os.path.join(self.workdir, "zones", f"{origin}.zone"), "w") as f:
                f.write(text)
            zone_entries.append(f"  - domain: {origin}\n    file: {origin}.zone\n{self.zone_options}")
        listen = ", ".join(f"{h}@{self.port}" for h in [self.host, *self.also_listen])
        self.conf = os.path.join(self.workdir, "knot.conf")
        with open(self.conf, "w") as f:
            f.write(
                "server:\n"
                f"    rundir: \"{self.workdir}/run\"\n"
                f"    listen: [{listen}]\n"
                "    udp-workers: 1\n    tcp-workers: 1\n    background-workers: 1\n"
                f"control:\n    listen: \"{self.workdir}/run/knot.sock\"\n"
                "log:\n  - target: stderr\n    any: info\n"
                "database:\n"
                f"    storage: \"{self.workdir}/storage\"\n"
                + self.extra_config +
                "template:\n  - id: default\n"
                f"    storage: \"{self.workdir}/zones\"\n"
                # No flush-back to the zone files.
                f"    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: {self.journal}\n"
                "zone:\n" + "".join(zone_entries))
        self.log = os.path.join(self.workdir, "knotd.log")
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([*self.prefix, knotd, "-c", self.conf], stdout=log, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)

        def up() -> bool:
            if self.proc.poll() is not None:
                raise ServerExited(f"knotd exited with {self.proc.returncode}:\n{tail(self.log)}")
            return self.serving()
        try:
            wait_until(up, timeout, interval=0.1, what=f"knotd on {listen}")
        except Exception:
            self.stop()
            raise
        return self

    def serving(self) -> bool:
        """The first zone answers its SOA."""
        r = ask(self.address, next(iter(self.zones)) + ".", "SOA", timeout=0.3)
        return r.rcode() == dns.rcode.NOERROR and len(r.answer) == 1

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    def stop(self) -> None:
        stop_process(self.proc, grace=5)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def fedns_binary() -> str:
    """FEDNS_BIN, else the debug build in the repository."""
    path = os.environ.get("FEDNS_BIN") or os.path.join(REPO, ".build", "debug", "fedns")
    return os.path.abspath(path)


@dataclass
class Fedns:
    """`fedns serve` with a config file and a cluster state file, on a free 127.0.0.1 port."""

    config: str                            # YAML text
    state: str                             # cluster state YAML text
    extra_args: list[str] = field(default_factory=list)
    host: str = "127.0.0.1"
    prefix: list[str] = field(default_factory=list)   # e.g. ["taskset", "-c", "1"]
    binary: str = ""                                  # default: fedns_binary()
    port: int = 0
    workdir: str = ""
    proc: subprocess.Popen | None = None

    def start(self, timeout: float = 20.0, wait_ready: bool = True) -> "Fedns":
        binary = self.binary or fedns_binary()
        if not os.access(binary, os.X_OK):
            raise RuntimeError(f"fedns binary not found at {binary}: run `swift build` or set FEDNS_BIN")
        self.workdir = tempfile.mkdtemp(prefix="fedns-e2e-")
        self.port = self.port or free_port(self.host)
        self.config_path = os.path.join(self.workdir, "fedns.yaml")
        self.state_path = os.path.join(self.workdir, "cluster.yaml")
        with open(self.config_path, "w") as f:
            f.write(self.config)
        with open(self.state_path, "w") as f:
            f.write(self.state)
        self.log = os.path.join(self.workdir, "fedns.log")
        argv = [*self.prefix, binary, "serve", "--config", self.config_path, "--cluster-state", self.state_path,
                "--listen", f"{self.host}:{self.port}", *self.extra_args]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         cwd=self.workdir)
        if wait_ready:
            try:
                self.wait_ready(timeout)
            except Exception:
                self.stop()
                raise
        return self

    def wait_ready(self, timeout: float) -> None:
        """Poll `dns-version.<cd> TXT` until NOERROR: fedns answers cluster names after its first sync."""
        def ready() -> bool:
            if self.proc.poll() is not None:
                raise ServerExited(f"fedns exited with {self.proc.returncode}:\n{tail(self.log)}")
            r = ask(self.address, "dns-version.cluster.local.", "TXT", timeout=0.3)
            return r.rcode() == dns.rcode.NOERROR
        try:
            wait_until(ready, timeout, interval=0.1, what=f"fedns on {self.host}:{self.port} to answer dns-version")
        except TimeoutError as e:
            raise TimeoutError(f"{e}\n--- fedns log ---\n{tail(self.log)}") from None

    @property
    def address(self) -> tuple[str, int]:
        return (self.host, self.port)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    def stop(self) -> int | None:
        code = stop_process(self.proc)
        if self.workdir and not os.environ.get("FEDNS_E2E_KEEP"):
            shutil.rmtree(self.workdir, ignore_errors=True)
        return code
