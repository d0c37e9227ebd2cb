"""The control socket of a standalone test API server: the same calls as the Python API, as JSON lines
over a Unix socket, so a benchmark or a shell can change the cluster and inject faults.

Request:  {"call": "put", "args": [...], "kwargs": {...}}\\n
Answer:   {"ok": true, "result": ...}\\n   or   {"ok": false, "error": "..."}\\n

`Control(path)` is the client: `Control(path).put(obj)`, `.expire_watches()`, … One connection
serves any number of requests in order.
"""

from __future__ import annotations

import json
import os
import socket
import threading
from typing import Any

# The calls the socket accepts: the store, credentials, RBAC and the fault controls.
CALLS = frozenset({
    "put", "put_raw", "delete", "get", "load", "set_ready", "count",
    "set_tokens", "add_token", "revoke_token", "set_rbac", "grant", "revoke",
    "compact", "expire_watches", "split_next_events", "drop_next_event", "silence_watches", "close_watches",
    "truncate_next_list", "stop_listening", "start_listening", "set_bookmark_interval", "open_watches", "wait_for_watches",
    "written_at", "request_log", "resource_version", "put_many",
})


class ControlServer:
    """Serves CALLS on `path` for `api` (a KubeAPIServer), one thread per client."""

    def __init__(self, api, path: str):
        self.api, self.path = api, path
        if os.path.exists(path):
            os.unlink(path)
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.bind(path)
        self.sock.listen(16)
        threading.Thread(target=self._accept, daemon=True, name="kubeapi-control").start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        with client, client.makefile("rwb") as stream:
            for line in stream:
                try:
                    request = json.loads(line)
                    stream.write(json.dumps({"ok": True, "result": self.dispatch(request)}).encode() + b"\n")
                except Exception as e:  # the caller gets the error; the server goes on
                    stream.write(json.dumps({"ok": False, "error": f"{type(e).__name__}: {e}"}).encode() + b"\n")
                stream.flush()

    def dispatch(self, request: dict) -> Any:
        call = request.get("call")
        if call not in CALLS:
            raise ValueError(f"unknown call {call!r}; one of {sorted(CALLS)}")
        if call == "resource_version":
            return self.api.resource_version
        if call == "put_many":
            # Several writes in one round trip; the resourceVersion of each.
            return [self.api.put(obj) for obj in request.get("args", [[]])[0]]
        return getattr(self.api, call)(*request.get("args", []), **request.get("kwargs", {}))

    def close(self) -> None:
        self.sock.close()
        if os.path.exists(self.path):
            os.unlink(self.path)


class Control:
    """Client of a ControlServer: `Control(path).put(obj)` calls `put(obj)` in the server process."""

    def __init__(self, path: str, timeout: float = 60.0):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.stream = self.sock.makefile("rwb")

    def call(self, call: str, *args, **kwargs) -> Any:
        self.stream.write(json.dumps({"call": call, "args": list(args), "kwargs": kwargs}).encode() + b"\n")
        self.stream.flush()
        answer = json.loads(self.stream.readline() or b'{"ok": false, "error": "control socket closed"}')
        if not answer["ok"]:
            raise RuntimeError(f"{call}: {answer['error']}")
        return answer["result"]

    def __getattr__(self, name: str):
        if name not in CALLS:
            raise AttributeError(name)
        return lambda *args, **kwargs: self.call(name, *args, **kwargs)

    def close(self) -> None:
        self.stream.close()
        self.sock.close()
