"""The one exception tree of wirefeed's core. Third-party errors are translated at the boundary.

::

    WirefeedError                   root: anything wirefeed raises on purpose
    ├── FetchError                  the source could not be fetched (recorded on the source)
    │   ├── FetchTimeout            connect, read or total time limit exceeded
    │   ├── FetchTooLarge           body exceeded the size cap (counted after decompression)
    │   ├── FetchConnectError       DNS, TLS, refused or reset connection
    │   ├── FetchBlocked            destination address not allowed (private network guard)
    │   ├── FetchRedirectError      a redirect loop, too many hops, or a redirect nowhere
    │   └── FetchHTTPError          the server answered with an unusable status (``status``)
    ├── ParseError                  the document is not a feed we can read (recorded on the source)
    ├── EntryError                  one entry is unusable; it is skipped and counted
    ├── HubError                    a WebSub hub could not be reached (best effort: logged)
    └── StoreError                  the store refused or lost a write

A bad entry never fails its document, and a bad source never stops a worker: the pipeline catches
``FetchError`` and ``ParseError`` and records them on the source's status.
"""

from __future__ import annotations

from collections.abc import Mapping


class WirefeedError(Exception):
    """Root of every error wirefeed raises on purpose."""


class FetchError(WirefeedError):
    """The source could not be fetched."""


class FetchTimeout(FetchError):
    """A connect, read or total time limit was exceeded."""


class FetchTooLarge(FetchError):
    """The body exceeded the size cap (after decompression)."""


class FetchConnectError(FetchError):
    """DNS, TLS, refused or reset connection."""


class FetchBlocked(FetchError):
    """The destination address is not allowed (private network guard)."""


class FetchRedirectError(FetchError):
    """A redirect loop, too many redirects, or a redirect without a usable target."""


class FetchHTTPError(FetchError):
    """The server answered with a status we cannot use; ``headers`` has its answer's headers
    (lowercase names), for ``Retry-After`` and the like."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.headers: Mapping[str, str] = dict(headers or {})


class ParseError(WirefeedError):
    """The document is not a feed we can read."""


class EntryError(WirefeedError):
    """One entry of a document is unusable."""


class HubError(WirefeedError):
    """A WebSub hub could not be reached: refused, reset, timed out, or no such name."""


class StoreError(WirefeedError):
    """The store refused or lost a write."""
