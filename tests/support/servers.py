"""Real HTTP servers on loopback for the fetcher to read: ``FeedServer`` answers what a test
sets per path (``Reply``) and counts what it was asked."""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Self

from ingest.fetch.guard import AddressPolicy

LOOPBACK = AddressPolicy(allow=(ipaddress.ip_network("127.0.0.0/8"),))
"""The fetch policy of tests: our test servers live on loopback, which is otherwise refused."""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Reply:
    """What the test server answers on one path. ``etag`` enables conditional GETs."""

    body: bytes = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | None = None
    delay: float = 0.0


class LoopbackServer:
    """A threaded HTTP server on a loopback address (``host``, a free port), answering with the
    handler class ``_handler`` returns; ``start`` serves it in a daemon thread, ``stop`` ends it.
    Subclasses set their own state before calling ``__init__``."""

    def __init__(self, host: str = "127.0.0.1") -> None:
        self.host = host
        self._server = ThreadingHTTPServer((host, 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        raise NotImplementedError

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.port}{path}"

    def start(self) -> Self:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class FeedServer(LoopbackServer):
    """A real HTTP server on 127.0.0.1 whose answers tests set per path, counting requests.

    It records, per path, how many requests it got and the most it was serving at once, which
    is how tests prove that two workers never fetch one source at the same time.
    """

    def __init__(self) -> None:
        self.replies: dict[str, Reply] = {}
        self.requests: dict[str, int] = defaultdict(int)
        self.in_flight: dict[str, int] = defaultdict(int)
        self.max_in_flight: dict[str, int] = defaultdict(int)
        self.request_headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        self._lock = threading.Lock()
        super().__init__()

    def set(self, path: str, reply: Reply) -> str:
        self.replies[path] = reply
        return self.url(path)

    def _enter(self, path: str, headers: dict[str, str]) -> None:
        with self._lock:
            self.requests[path] += 1
            self.in_flight[path] += 1
            self.max_in_flight[path] = max(self.max_in_flight[path], self.in_flight[path])
            self.request_headers[path].append(headers)

    def _leave(self, path: str) -> None:
        with self._lock:
            self.in_flight[path] -= 1

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                path = self.path
                server._enter(path, {k.lower(): v for k, v in self.headers.items()})
                try:
                    self._answer(server.replies.get(path))
                finally:
                    server._leave(path)

            def _answer(self, reply: Reply | None) -> None:
                if reply is None:
                    reply = Reply(b"not found", status=404)
                if reply.delay:
                    time.sleep(reply.delay)
                headers = dict(reply.headers)
                if reply.etag:
                    headers["ETag"] = reply.etag
                if reply.last_modified:
                    headers["Last-Modified"] = reply.last_modified
                if reply.etag and self.headers.get("If-None-Match") == reply.etag:
                    self._send(304, headers, b"")
                    return
                self._send(reply.status, headers, reply.body)

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    server = FeedServer().start()
    try:
        yield server
    finally:
        server.stop()
