"""``wirefeed sources discover URL``: is this URL a feed, and if it is a page, which feeds does
it advertise? Fetched under the same guard and limits as a worker's polls."""

from __future__ import annotations

from config.settings import Settings
from ingest import compose
from ingest.errors import FetchError, ParseError
from ingest.model import Validators
from ingest.parse import parse
from ingest.parse.discover import advertised, looks_like_html


async def discover(settings: Settings, url: str) -> tuple[int, list[str]]:
    """Lines to print and the exit status: 0 with feeds found, 1 without."""
    fetcher = compose.fetcher(settings)
    try:
        result = await fetcher.fetch(url, Validators())
    except FetchError as exc:
        return 1, [f"{url}: cannot fetch: {exc}"]
    finally:
        await fetcher.aclose()
    if looks_like_html(result.body, result.headers):
        feeds = advertised(result.body, result.url)
        if not feeds:
            return 1, [f'{url}: an HTML page that advertises no feed (no <link rel="alternate">)']
        lines = [f"{url}: an HTML page, not a feed; it advertises:"]
        lines += [f"  {f.url}  ({f.kind}{': ' + f.title if f.title else ''})" for f in feeds]
        return 0, lines
    try:
        feed = parse(result.body, {"content-location": result.url, **result.headers})
    except ParseError as exc:
        return 1, [f"{url}: not a feed we can read: {exc}"]
    title = f' "{feed.title}"' if feed.title else ""
    return 0, [f"{result.url}: a feed ({feed.format}){title}, {len(feed.entries)} entries"]
