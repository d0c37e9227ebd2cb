"""A DNS load sender that counts every query and every reply: UDP queries at a fixed rate from several
sockets, each matched to its reply by socket and ID, so a lost query is counted, not guessed from timing.
Used by the upgrade test and bench/upgrade.sh's check of a hand-over under load."""

from __future__ import annotations

import collections
import select
import socket
import struct
import threading
import time
from dataclasses import dataclass, field

import dns.message
import dns.rcode


@dataclass
class Counts:
    sent: int = 0
    answered: int = 0
    lost: int = 0
    rcodes: collections.Counter = field(default_factory=collections.Counter)
    mismatched: int = 0
    lost_at: list[float] = field(default_factory=list)   # seconds after the start at which each lost query was sent

    @property
    def servfail(self) -> int:
        return self.rcodes.get("SERVFAIL", 0)

    def __str__(self) -> str:
        codes = ", ".join(f"{k} {v}" for k, v in sorted(self.rcodes.items()))
        lost = f"; lost ones sent at {self.lost_at[:5]}…{self.lost_at[-5:]} s" if self.lost_at else ""
        return f"sent {self.sent}, answered {self.answered}, lost {self.lost}, SERVFAIL {self.servfail} ({codes}){lost}"


class CountingSender:
    """Sends `rate` queries a second to `server` until stopped, cycling through `queries` (name, type)."""

    def __init__(self, server: tuple[str, int], queries: list[tuple[str, str]], rate: float, sockets: int = 16):
        self.server = server
        self.rate = rate
        self.wires = [dns.message.make_query(name, rdtype).to_wire() for name, rdtype in queries]
        self.socks = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(sockets)]
        for s in self.socks:
            s.setblocking(False)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.outstanding: dict[tuple[int, int], float] = {}
        self.counts = Counts()
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> "CountingSender":
        self.started = time.monotonic()
        self.thread.start()
        return self

    def stop(self, drain: float = 10.0) -> Counts:
        """Stops sending, waits up to `drain` seconds for the last replies, and counts the rest as lost."""
        self.stopping.set()
        self.thread.join()
        deadline = time.monotonic() + drain
        while self.outstanding and time.monotonic() < deadline:
            self._receive(0.05)
        self.counts.lost = len(self.outstanding)
        self.counts.lost_at = sorted(round(t - self.started, 2) for t in self.outstanding.values())
        for s in self.socks:
            s.close()
        return self.counts

    def _run(self) -> None:
        n = 0
        start = time.monotonic()
        ids = [0] * len(self.socks)
        while not self.stopping.is_set():
            due = start + n / self.rate
            now = time.monotonic()
            if now < due:
                self._receive(min(due - now, 0.01))
                continue
            i = n % len(self.socks)
            ids[i] = (ids[i] + 1) & 0xFFFF
            # A reused ID must not meet an unanswered query on the same socket: skip it (counted as lost later).
            while (i, ids[i]) in self.outstanding:
                ids[i] = (ids[i] + 1) & 0xFFFF
            wire = struct.pack("!H", ids[i]) + self.wires[n % len(self.wires)][2:]
            try:
                self.socks[i].sendto(wire, self.server)
            except BlockingIOError:
                self._receive(0.001)
                continue
            self.outstanding[(i, ids[i])] = now
            self.counts.sent += 1
            n += 1
            if n % 32 == 0:
                self._receive(0)

    def _receive(self, timeout: float) -> None:
        readable, _, _ = select.select(self.socks, [], [], timeout)
        for s in readable:
            i = self.socks.index(s)
            while True:
                try:
                    data = s.recv(65535)
                except BlockingIOError:
                    break
                if len(data) < 12:
                    self.counts.mismatched += 1
                    continue
                key = (i, struct.unpack("!H", data[:2])[0])
                if self.outstanding.pop(key, None) is None:
                    self.counts.mismatched += 1
                    continue
                self.counts.answered += 1
                self.counts.rcodes[dns.rcode.to_text(data[3] & 0x0F)] += 1
