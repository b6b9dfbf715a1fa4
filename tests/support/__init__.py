"""Shared test helpers, once each. Test modules import helpers only from here (or a module of
this package) and fixtures from conftest.py, never from another test module.

- ``clock``: how tests get time (read its docstring first): ``FIXED`` and ``SESSION``.
- ``paths``: the project root and the shared corpora (``corpus`` skips when they are absent).
- ``servers``: ``FeedServer`` and ``Reply``, a real HTTP server on loopback, on a base
  (``LoopbackServer``) for servers of other shapes; ``LOOPBACK``, the fetch policy of tests.
- ``feeds``: RSS, Atom, JSON Feed and ninjs documents built from ``Wire`` items.
- ``workers``: the app in a thread (``serve_app``) or as a process (``app_process``), worker
  processes (``start_worker``, ``stop_worker``), the ``wirefeed`` command (``wirefeed``), child
  environments and waiting (``wait_for``, ``until``).
- ``sources``: sources files for worker processes (``write_sources``, ``sources_text``).
- ``items``: normalized items for tests that skip parsing (``make_item``).
- ``pages``: reading HTML as a reader does (``text_of``).
- ``validate``: validators of the documents the app serves (Atom, JSON Feed, RSS).
- ``desk`` and ``lakeshore``: the two invented newsrooms several integration modules share.
- ``hostile`` and ``stream``: the hostile HTTP server, and the labelled story stream.
"""

from tests.support.clock import FIXED, SESSION, at_local, local_day
from tests.support.feeds import (
    EARLIER,
    TOMBSTONES_NS,
    Wire,
    atom,
    json_feed,
    ninjs,
    ninjs_item,
    rss,
)
from tests.support.pages import text_of
from tests.support.paths import CORPORA, ROOT, corpus, declared_headers
from tests.support.servers import (
    LOOPBACK,
    FeedServer,
    LoopbackServer,
    Reply,
    feed_server,
    free_port,
)
from tests.support.sources import write_sources
from tests.support.validate import is_rfc822, validate_atom, validate_jsonfeed, validate_rss
from tests.support.workers import (
    WORKER_ENV,
    app_process,
    child_env,
    serve_app,
    start_worker,
    stop_worker,
    until,
    wait_for,
    wirefeed,
)

__all__ = [
    "CORPORA",
    "EARLIER",
    "FIXED",
    "LOOPBACK",
    "ROOT",
    "SESSION",
    "TOMBSTONES_NS",
    "WORKER_ENV",
    "FeedServer",
    "LoopbackServer",
    "Reply",
    "Wire",
    "app_process",
    "at_local",
    "atom",
    "child_env",
    "corpus",
    "declared_headers",
    "feed_server",
    "free_port",
    "is_rfc822",
    "json_feed",
    "local_day",
    "ninjs",
    "ninjs_item",
    "rss",
    "serve_app",
    "start_worker",
    "stop_worker",
    "text_of",
    "until",
    "validate_atom",
    "validate_jsonfeed",
    "validate_rss",
    "wait_for",
    "wirefeed",
    "write_sources",
]
