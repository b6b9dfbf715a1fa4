"""A hostile HTTP server on loopback: one route per way a feed server can misbehave.

It speaks HTTP/1.1 over raw sockets (``socketserver``, one thread per connection, one request per
connection, ``Connection: close``), so a route can misbehave at the byte level: drip one byte a
second, never end a chunked body, promise more bytes than it sends, reset the connection with
``SO_LINGER`` 0, inflate to gigabytes, or lie about its charset.

Routes (``HostileServer.ROUTES`` lists the fixed ones)::

    /good                   a small well-behaved RSS feed
    /drip                   a valid answer, one byte a second, status line included
    /endless                a chunked body that never ends
    /declared-huge          Content-Length: 10 GB (then a trickle, until the client leaves)
    /gzip-bomb              ~128 MiB of feed-like text gzipped to ~130 kB (Content-Encoding: gzip)
    /deflate-bomb           the same, zlib-wrapped (Content-Encoding: deflate)
    /loop-a, /loop-b        301 to each other
    /chain/N/I              301 to /chain/N/I+1 until I == N, which serves the good feed
    /found                  302 to /good
    /429-seconds            429 with Retry-After: 120
    /429-date               429 with Retry-After as an HTTP-date 120 s after ``clock()``
    /503                    503 with Retry-After: 300
    /410                    410 Gone
    /bad-utf8               declared UTF-8, one entry carries bytes that are not UTF-8
    /lying-charset          a UTF-8 body whose Content-Type says ISO-8859-1
    /lying-utf16            a UTF-8 body whose Content-Type says UTF-16, of an even length
    /lying-utf16-odd        the same, one byte longer (an odd length cannot be UTF-16)
    /billion-laughs         an XML entity-expansion bomb (ten levels of ten)
    /small-laughs           entity expansion kept under expat's guard: 2.4 MB from 1 kB
    /xxe                    an external general entity pointing at ``secret_path``
    /xxe-param              an external parameter entity pointing at ``secret_path``
    /huge                   100,000 tiny RSS items, about 5.6 MB
    /reset                  headers and part of the body, then a TCP reset (SO_LINGER 0)
    /short-body             Content-Length larger than the body, then a clean close
    /ignores-validators     always 200 with the same body and ETag, whatever the request says

Every request is counted per path; for each request the server also notes which other paths
were being served at that moment (``during``), which is how a test proves that a good source
was fetched while a hostile one was still dripping.
"""

from __future__ import annotations

import functools
import hashlib
import http
import socket
import socketserver
import struct
import sys
import threading
import zlib
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

RSS_TYPE = "application/rss+xml; charset=utf-8"
RETRY_SECONDS = 120
RETRY_503 = 300
DECLARED_HUGE = 10_000_000_000
HUGE_ITEMS = 100_000
BOMB_BYTES = 128 * 1024 * 1024
PARTIAL_LENGTH = 100_000
"""What /reset and /short-body promise in Content-Length; they send far less."""
PARTIAL_SENT = 2_000


def rss(items: str, *, doctype: str = "") -> bytes:
    text = (
        f'<?xml version="1.0" encoding="utf-8"?>{doctype}<rss version="2.0"><channel>'
        f"<title>Hostile</title><link>https://hostile.example/</link>{items}</channel></rss>"
    )
    return text.encode()


def item(guid: str, title: str, text: str = "Text.") -> str:
    return (
        f"<item><guid>{guid}</guid><title>{title}</title>"
        f"<link>https://hostile.example/{guid}</link><description>{text}</description>"
        "<pubDate>Sun, 29 Nov 2026 14:00:00 GMT</pubDate></item>"
    )


GOOD_FEED = rss(item("good-1", "Harbor reopens") + item("good-2", "Crews pump out the tank"))

BAD_UTF8_FEED = rss(item("utf8-ok", "Café reopens") + item("utf8-bad", "Bad BYTES here")).replace(
    b"BYTES", b"\xff\xfe"
)
"""Declared UTF-8; the second title carries 0xFF 0xFE, which UTF-8 never contains."""

LYING_FEED = rss(item("charset-1", "Café – naïve façade"))
"""Real UTF-8, with non-ASCII letters that any wrong decoding would garble."""

UTF16_TYPE = "application/rss+xml; charset=utf-16"


def padded(body: bytes, parity: int) -> bytes:
    """``body`` with a trailing newline if needed to make its length even (0) or odd (1): a
    UTF-16 decoder fails on an odd number of bytes, but turns an even number into garbage."""
    return body if len(body) % 2 == parity else body + b"\n"


LAUGH_ENTITIES = '<!ENTITY lol "lol">' + "".join(
    f'<!ENTITY lol{n} "{("&lol" + (str(n - 1) if n > 1 else "") + ";") * 10}">'
    for n in range(1, 10)
)
BILLION_LAUGHS_FEED = rss(
    item("laughs-1", "Laughs &lol9;", "More &lol9;"), doctype=f"<!DOCTYPE rss [{LAUGH_ENTITIES}]>"
)
"""&lol9; expands to 10^9 "lol"s: 3 GB of text from a 1 kB document."""

SMALL_LAUGHS = 8
SMALL_LAUGHS_FEED = rss(
    item("laughs-small", "Small laughs", "&lol5;" * SMALL_LAUGHS),
    doctype=f"<!DOCTYPE rss [{LAUGH_ENTITIES}]>",
)
"""Eight &lol5; (300,000 bytes each): 2.4 MB of text from a 1 kB document, small enough to stay
under expat's amplification guard, which only checks the ratio once a few MB were expanded."""


def xxe_feed(secret: Path) -> bytes:
    doctype = f'<!DOCTYPE rss [<!ENTITY xxe SYSTEM "{secret.as_uri()}">]>'
    return rss(item("xxe-1", "Leak: &xxe;", "Body: &xxe;"), doctype=doctype)


def xxe_param_feed(secret: Path) -> bytes:
    doctype = f'<!DOCTYPE rss [<!ENTITY % ext SYSTEM "{secret.as_uri()}"> %ext;]>'
    return rss(item("xxe-param-1", "Parameter entity"), doctype=doctype)


@functools.cache
def huge_feed() -> bytes:
    """100,000 tiny items, about 5.6 MB; built once per process. Each title is a distinct
    token, so no two items look like near-duplicates of each other."""
    items = "".join(
        f"<item><guid>{n}</guid><title>{_token(n)}</title></item>" for n in range(HUGE_ITEMS)
    )
    return rss(items)


def _token(n: int) -> str:
    return hashlib.blake2b(str(n).encode(), digest_size=5).hexdigest()


@functools.cache
def bomb(wbits: int) -> bytes:
    """``BOMB_BYTES`` of feed-like text, compressed (gzip: wbits 31, zlib: wbits 15)."""
    compressor = zlib.compressobj(9, zlib.DEFLATED, wbits)
    block = b"<item><title>lol</title></item>" * (1024 * 1024 // 32)
    parts = [compressor.compress(rss("")[: -len(b"</channel></rss>")])]
    parts += [compressor.compress(block) for _ in range(BOMB_BYTES // len(block))]
    parts.append(compressor.flush())
    return b"".join(parts)


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {http.HTTPStatus(status).phrase}"]
    lines += [f"{name}: {value}" for name, value in {**headers, "Connection": "close"}.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class Conn:
    """One accepted connection and the request read from it."""

    def __init__(self, sock: socket.socket, path: str, headers: dict[str, str]) -> None:
        self.sock = sock
        self.path = path
        self.headers = headers

    def send(self, status: int, body: bytes = b"", headers: dict[str, str] | None = None) -> None:
        head = {"Content-Type": RSS_TYPE, **(headers or {}), "Content-Length": str(len(body))}
        self.sock.sendall(_head(status, head) + body)

    def redirect(self, status: int, location: str) -> None:
        self.send(status, b"", {"Location": location, "Content-Type": "text/plain"})

    def wait_for_close(self, stopping: threading.Event, limit: float = 30.0) -> None:
        """Hold the connection until the client hangs up (or ``limit`` seconds pass)."""
        self.sock.settimeout(0.2)
        for _ in range(int(limit / 0.2)):
            if stopping.is_set():
                return
            try:
                if not self.sock.recv(4096):
                    return
            except TimeoutError:
                continue

    def reset(self) -> None:
        """Abort the connection: SO_LINGER 0 makes close() send a TCP RST."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.sock.close()


class HostileServer:
    """The hostile server; see the module docstring. Use :func:`hostile_server`."""

    def __init__(self, secret_path: Path | None = None) -> None:
        self.secret_path = secret_path
        self.clock: Callable[[], datetime] = lambda: datetime.now(UTC)
        """What /429-date counts its Retry-After date from."""
        self.requests: Counter[str] = Counter()
        self.request_headers: dict[str, list[dict[str, str]]] = defaultdict(list)
        self.in_flight: Counter[str] = Counter()
        self.during: dict[str, Counter[str]] = defaultdict(Counter)
        """path -> other path -> requests to ``path`` that arrived while ``other`` was served."""
        self.errors: list[str] = []
        """Unexpected exceptions of route handlers (a bug in this server, not in wirefeed)."""
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )

    ROUTES = (
        "/good",
        "/drip",
        "/endless",
        "/declared-huge",
        "/gzip-bomb",
        "/deflate-bomb",
        "/loop-a",
        "/loop-b",
        "/found",
        "/429-seconds",
        "/429-date",
        "/503",
        "/410",
        "/bad-utf8",
        "/lying-charset",
        "/lying-utf16",
        "/lying-utf16-odd",
        "/billion-laughs",
        "/small-laughs",
        "/xxe",
        "/xxe-param",
        "/huge",
        "/reset",
        "/short-body",
        "/ignores-validators",
    )

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def start(self) -> HostileServer:
        # Compress the bombs (~128 MiB each, a second or two of CPU) before serving, not on the
        # first request: built then, they ate into the client's total timeout, and on a busy
        # machine the first poll of a bomb timed out instead of hitting the size cap.
        bomb(16 + zlib.MAX_WBITS), bomb(zlib.MAX_WBITS)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()

    @property
    def total_requests(self) -> int:
        with self._lock:
            return sum(self.requests.values())

    def count(self, path: str) -> int:
        with self._lock:
            return self.requests[path]

    # -- plumbing -------------------------------------------------------------------------------

    def _handler(self) -> type[socketserver.BaseRequestHandler]:
        server = self

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                server._serve(self.request)

        return Handler

    def _serve(self, sock: socket.socket) -> None:
        request = _read_request(sock)
        if request is None:
            return
        conn = Conn(sock, *request)
        self._enter(conn)
        try:
            self._route(conn)
        except OSError:
            pass  # the client hung up: what a hostile server's clients should do
        except Exception as exc:
            self.errors.append(f"{conn.path}: {type(exc).__name__}: {exc}")
            print(f"hostile server: {conn.path}: {exc!r}", file=sys.stderr)
        finally:
            with self._lock:
                self.in_flight[conn.path] -= 1

    def _enter(self, conn: Conn) -> None:
        with self._lock:
            self.requests[conn.path] += 1
            self.request_headers[conn.path].append(conn.headers)
            for other, n in self.in_flight.items():
                if n > 0 and other != conn.path:
                    self.during[conn.path][other] += 1
            self.in_flight[conn.path] += 1

    def _route(self, conn: Conn) -> None:
        if conn.path.startswith("/chain/"):
            self._chain(conn)
            return
        name = conn.path.strip("/").replace("-", "_")
        handler = getattr(self, f"_r_{name}", None) if conn.path in self.ROUTES else None
        if handler is None:
            conn.send(404, b"not found", {"Content-Type": "text/plain"})
        else:
            handler(conn)

    # -- routes ---------------------------------------------------------------------------------

    def _r_good(self, conn: Conn) -> None:
        conn.send(200, GOOD_FEED)

    def _r_drip(self, conn: Conn) -> None:
        data = _head(200, {"Content-Type": RSS_TYPE, "Content-Length": str(len(GOOD_FEED))})
        for byte in data + GOOD_FEED:
            conn.sock.sendall(bytes([byte]))
            if self._stopping.wait(1.0):
                return

    def _r_endless(self, conn: Conn) -> None:
        head = {"Content-Type": RSS_TYPE, "Transfer-Encoding": "chunked"}
        opening = rss("")[: -len(b"</channel></rss>")]
        conn.sock.sendall(_head(200, head) + b"%x\r\n%s\r\n" % (len(opening), opening))
        payload = b"<item><title>more</title></item>" * 2048
        chunk = b"%x\r\n%s\r\n" % (len(payload), payload)
        for _ in range(64 * 1024):  # 4 GiB at most, should the client never give up
            if self._stopping.is_set():
                return
            conn.sock.sendall(chunk)

    def _r_declared_huge(self, conn: Conn) -> None:
        head = {"Content-Type": RSS_TYPE, "Content-Length": str(DECLARED_HUGE)}
        conn.sock.sendall(_head(200, head) + GOOD_FEED[:100])
        conn.wait_for_close(self._stopping)

    def _r_gzip_bomb(self, conn: Conn) -> None:
        conn.send(200, bomb(16 + zlib.MAX_WBITS), {"Content-Encoding": "gzip"})

    def _r_deflate_bomb(self, conn: Conn) -> None:
        conn.send(200, bomb(zlib.MAX_WBITS), {"Content-Encoding": "deflate"})

    def _r_loop_a(self, conn: Conn) -> None:
        conn.redirect(301, "/loop-b")

    def _r_loop_b(self, conn: Conn) -> None:
        conn.redirect(301, self.url("/loop-a"))

    def _chain(self, conn: Conn) -> None:
        _, _, hops, at = conn.path.split("/", 3)
        if int(at) >= int(hops):
            conn.send(200, GOOD_FEED)
        else:
            conn.redirect(301, f"/chain/{hops}/{int(at) + 1}")

    def _r_found(self, conn: Conn) -> None:
        conn.redirect(302, "/good")

    def _r_429_seconds(self, conn: Conn) -> None:
        conn.send(429, b"slow down", {"Retry-After": str(RETRY_SECONDS)})

    def _r_429_date(self, conn: Conn) -> None:
        when = self.clock() + timedelta(seconds=RETRY_SECONDS)
        conn.send(429, b"slow down", {"Retry-After": format_datetime(when, usegmt=True)})

    def _r_503(self, conn: Conn) -> None:
        conn.send(503, b"down for maintenance", {"Retry-After": str(RETRY_503)})

    def _r_410(self, conn: Conn) -> None:
        conn.send(410, b"this feed is gone", {"Content-Type": "text/plain"})

    def _r_bad_utf8(self, conn: Conn) -> None:
        conn.send(200, BAD_UTF8_FEED)

    def _r_lying_charset(self, conn: Conn) -> None:
        conn.send(200, LYING_FEED, {"Content-Type": "application/rss+xml; charset=iso-8859-1"})

    def _r_lying_utf16(self, conn: Conn) -> None:
        conn.send(200, padded(LYING_FEED, 0), {"Content-Type": UTF16_TYPE})

    def _r_lying_utf16_odd(self, conn: Conn) -> None:
        conn.send(200, padded(LYING_FEED, 1), {"Content-Type": UTF16_TYPE})

    def _r_billion_laughs(self, conn: Conn) -> None:
        conn.send(200, BILLION_LAUGHS_FEED)

    def _r_small_laughs(self, conn: Conn) -> None:
        conn.send(200, SMALL_LAUGHS_FEED)

    def _r_xxe(self, conn: Conn) -> None:
        conn.send(200, xxe_feed(self._secret()))

    def _r_xxe_param(self, conn: Conn) -> None:
        conn.send(200, xxe_param_feed(self._secret()))

    def _secret(self) -> Path:
        if self.secret_path is None:
            raise RuntimeError("this HostileServer was started without a secret_path")
        return self.secret_path

    def _r_huge(self, conn: Conn) -> None:
        conn.send(200, huge_feed())

    def _r_reset(self, conn: Conn) -> None:
        head = {"Content-Type": RSS_TYPE, "Content-Length": str(PARTIAL_LENGTH)}
        conn.sock.sendall(_head(200, head) + huge_feed()[:PARTIAL_SENT])
        self._stopping.wait(0.2)
        conn.reset()

    def _r_short_body(self, conn: Conn) -> None:
        head = {"Content-Type": RSS_TYPE, "Content-Length": str(PARTIAL_LENGTH)}
        conn.sock.sendall(_head(200, head) + huge_feed()[:PARTIAL_SENT])
        # returning closes the socket cleanly (FIN): the body simply ends too early

    def _r_ignores_validators(self, conn: Conn) -> None:
        headers = {"ETag": '"v1"', "Last-Modified": "Sun, 29 Nov 2026 14:00:00 GMT"}
        conn.send(200, GOOD_FEED, headers)  # never 304, whatever If-None-Match says


def _read_request(sock: socket.socket) -> tuple[str, dict[str, str]] | None:
    """The path and headers (lowercase names) of the request on ``sock``, or ``None``."""
    sock.settimeout(10)
    data = b""
    try:
        while b"\r\n\r\n" not in data and len(data) < 65536:
            got = sock.recv(4096)
            if not got:
                return None
            data += got
    except OSError:
        return None
    head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
    first, *lines = head.split("\r\n")
    parts = first.split()
    if len(parts) != 3:
        return None
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return parts[1].split("?", 1)[0], headers


@contextmanager
def hostile_server(secret_path: Path | None = None) -> Iterator[HostileServer]:
    server = HostileServer(secret_path).start()
    try:
        yield server
    finally:
        server.stop()


# -- proof that a file is never opened ------------------------------------------------------------

_watched: tuple[str, ...] = ()
_opened: list[str] = []
_hooked = False


def _audit(event: str, args: tuple[object, ...]) -> None:
    watched = _watched  # one read: the tuple is replaced, never changed, while others run
    if not watched or event not in ("open", "urllib.Request"):
        return
    try:
        target = args[0] if args else None
        if isinstance(target, bytes):
            target = target.decode(errors="replace")
        if isinstance(target, (str, Path)) and any(w in str(target) for w in watched):
            _opened.append(f"{event}: {target}")
    except Exception:  # an audit hook must never break the open it watches
        pass


@contextmanager
def watch_opens(path: Path) -> Iterator[list[str]]:
    """Record every attempt of this process to open ``path`` (by name or file: URL) while the
    block runs, through a PEP 578 audit hook (which cannot be removed, so it is added once)."""
    global _hooked, _watched
    if not _hooked:
        sys.addaudithook(_audit)
        _hooked = True
    seen: list[str] = []
    start = len(_opened)
    _watched = (*_watched, str(path))
    try:
        yield seen
    finally:
        _watched = tuple(w for w in _watched if w != str(path))
        seen.extend(_opened[start:])
