"""
An OpenLineage HTTP receiver on 127.0.0.1 with fault modes, for tests, the demo and benchmarks.

Modes: ``healthy`` (store and answer 200), ``slow`` (wait ``delay`` seconds, then as healthy),
``hung`` (never answer until the receiver stops, bounded by ``max_hang``), ``error`` (answer 500),
``unauthorized`` (answer 401).
A "refused" backend needs no receiver: use :func:`unused_port`.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def unused_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Receiver:
    """Threaded HTTP server collecting posted events; ``mode`` can change while it runs."""

    def __init__(self, mode: str = "healthy", delay: float = 0.0, max_hang: float = 120.0) -> None:
        self.mode = mode
        self.delay = delay
        self.max_hang = max_hang
        self.events: list[dict[str, Any]] = []
        self.raw: list[bytes] = []
        self.requests = 0
        self._stopping = threading.Event()
        self._recovered = threading.Event()
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            disable_nagle_algorithm = True  # else each reply costs ~40 ms on loopback
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with receiver._lock:
                    receiver.requests += 1
                if receiver.mode == "hung":
                    end = time.monotonic() + receiver.max_hang
                    while not receiver._stopping.is_set() and time.monotonic() < end:
                        if receiver._recovered.wait(0.1):
                            break  # the backend came back: this request is answered normally
                    if not receiver._recovered.is_set():
                        return
                if receiver.mode == "slow":
                    receiver._stopping.wait(receiver.delay)
                if receiver.mode == "error":
                    self._reply(500)
                    return
                if receiver.mode == "unauthorized":
                    self._reply(401)
                    return
                with receiver._lock:
                    receiver.raw.append(body)
                    try:
                        receiver.events.append(json.loads(body))
                    except ValueError:
                        pass
                self._reply(200)

            def do_GET(self) -> None:
                """``GET /events``: every event received so far, as a JSON list (for checkers in tasks)."""
                if self.path.rstrip("/") != "/events":
                    self._reply(404)
                    return
                with receiver._lock:
                    body = json.dumps(receiver.events).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _reply(self, status: int) -> None:
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self.port = self._server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(target=self._server.serve_forever, name="ol-receiver", daemon=True)

    def __enter__(self) -> Receiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def recover(self) -> None:
        """A hung backend comes back: held requests and later ones are answered as healthy."""
        self.mode = "healthy"
        self._recovered.set()

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    def wait_for(self, count: int, timeout: float) -> bool:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            with self._lock:
                if len(self.events) >= count:
                    return True
            time.sleep(0.05)
        return False

    def transport(self, timeout: float = 300.0) -> dict[str, Any]:
        """An http transport to this receiver whose own timeout is long: only the provider bounds it."""
        return {"type": "http", "url": self.url, "endpoint": "api/v1/lineage", "timeout": timeout}
