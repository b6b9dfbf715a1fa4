"""HTML pages: the story page laid out like an agency's rolling story, and the story list. Pure.

Entry HTML was sanitized at ingestion (nh3); everything else we put on the page is escaped here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from html import escape

from feeds.render.aptime import ap_date, ap_stamp, ap_time, ap_zoned
from feeds.render.context import Context
from ingest.model import Entry, Story

_STYLE = """
body{font:17px/1.5 Georgia,serif;max-width:44rem;margin:2rem auto;padding:0 1rem;color:#111}
h1{font-size:1.9rem;line-height:1.2;margin-bottom:.4rem}
.lede{font-size:1.1rem}
.meta,.credit,.feeds{color:#555;font:14px/1.4 system-ui,sans-serif}
.update{border-top:1px solid #ddd;padding-top:.6rem;margin-top:1rem}
.update h2{font:700 15px/1.3 system-ui,sans-serif;margin:0 0 .3rem;color:#a00}
.update h3{font-size:1rem;margin:.2rem 0}
.correction{background:#fff6e0;border-left:3px solid #c80;padding:.3rem .6rem;font-size:.95rem}
ol.stories{list-style:none;padding:0}
ol.stories li{margin:1rem 0}
ol.stories a{font-size:1.2rem}
ol.stories .lede{font-size:1rem;margin:.2rem 0}
"""


def timeline_fragment(story: Story, credit: Callable[[str], str]) -> str:
    """The story as one HTML fragment: lede, then each update newest first under its time.
    A lede that is only some update's text again (a story without an intro) is left out: the
    reader would read the newest update twice."""
    parts = [f'<div class="lede">{story.lede_html}</div>' if _own_lede(story) else ""]
    reference = story.entries[0].published if story.entries else story.updated
    pinned = [e for e in story.entries if e.id == story.pinned]
    rest = [e for e in story.entries if e.id != story.pinned]
    parts += [_update(e, story.timezone, reference, credit, pinned=True) for e in pinned]
    parts += [_update(e, story.timezone, reference, credit) for e in rest]
    return "\n".join(p for p in parts if p)


def _own_lede(story: Story) -> bool:
    lede = story.lede_html.strip()
    if not lede:
        return False
    return all(lede not in (e.body_html.strip(), e.summary_html.strip()) for e in story.entries)


def _update(
    entry: Entry,
    tz: str,
    reference: datetime,
    credit: Callable[[str], str],
    *,
    pinned: bool = False,
) -> str:
    stamp = ap_stamp(entry.published, tz, reference=reference)
    if pinned:
        stamp = f"Pinned · {stamp}"
    heading = f"<h3>{escape(entry.title)}</h3>" if entry.title else ""
    return (
        f'<section class="update" id="e-{entry.id}">'
        f'<h2><time datetime="{entry.published.isoformat()}">{escape(stamp)}</time></h2>'
        f"{heading}{entry.body_html}{entry_notes(entry, tz, credit)}"
        "</section>"
    )


def entry_notes(entry: Entry, tz: str, credit: Callable[[str], str]) -> str:
    """What follows an entry's text wherever it is shown: the correction note, if any, and
    the credit line (its source, and who else reported it)."""
    notes = ""
    if entry.corrected_at is not None:
        when = f"{ap_date(entry.corrected_at, tz)}, {ap_time(entry.corrected_at, tz)}"
        text = entry.correction_note or "This update has been corrected."
        notes += (
            f'<p class="correction"><strong>Correction</strong> ({escape(when)}): '
            f"{escape(text)}</p>"
        )
    line = _credit_link(credit(entry.source_id), entry.url)
    others = [_credit_link(credit(source), url) for source, url in entry.also]
    if others:
        line += " · also reported by " + ", ".join(others)
    return notes + f'<p class="credit">{line}</p>'


def _credit_link(name: str, url: str | None) -> str:
    """A source's name, linking to where it published the item (web addresses only)."""
    if url and url.lower().startswith(("https://", "http://")):
        return f'<a href="{escape(url)}">{escape(name)}</a>'
    return escape(name)


def story_page(story: Story, ctx: Context) -> str:
    """The public page of one story."""
    updated = f"{ap_date(story.updated, story.timezone)}, {ap_zoned(story.updated, story.timezone)}"
    feeds = _feed_links(
        ctx.story_feed(story.id, "atom"),
        ctx.story_feed(story.id, "json"),
        ctx.story_feed(story.id, "rss"),
    )
    body = (
        f'<p class="meta"><a href="{escape(ctx.home())}">All stories</a> · '
        f"Updated {escape(updated)} · {_updates(story.entry_count)}</p>"
        f"<article><h1>{escape(ctx.headline(story))}</h1>\n"
        f"{timeline_fragment(story, ctx.credit)}</article>"
        f'<p class="feeds">Follow this story: {feeds}</p>'
    )
    alternates = _alternates(
        ctx.story_feed(story.id, "atom"),
        ctx.story_feed(story.id, "json"),
        ctx.story_feed(story.id, "rss"),
    )
    return _document(ctx.headline(story), body, alternates)


def not_found_page(ctx: Context, what: str = "story") -> str:
    """The page of a story that is not (or no longer) here, with the way back."""
    body = (
        f"<h1>No such {escape(what)}</h1>"
        f"<p>This {escape(what)} is not here: it may have been withdrawn, merged into "
        "another or expired.</p>"
        f'<p><a href="{escape(ctx.home())}">See the latest stories</a></p>'
    )
    return _document(f"No such {what} · wirefeed", body, "", refresh=False)


def index_page(stories: Sequence[Story], ctx: Context) -> str:
    """The list of stories, most recently updated first: each with its lede, its sources and
    when it last changed (with the zone: the time stands alone here)."""
    rows = []
    for story in stories:
        when = ap_zoned(story.updated, story.timezone)
        names = ", ".join(dict.fromkeys(ctx.credit(s) for s in _sources_of(story)))
        lede = story.lede_html or (story.entries[0].body_html if story.entries else "")
        rows.append(
            f'<li><a href="{escape(ctx.story_page(story.id))}">{escape(ctx.headline(story))}</a>'
            f'<div class="lede">{lede}</div>'
            f'<div class="meta">{_updates(story.entry_count)} · last at {escape(when)}'
            f"{' · from ' + escape(names) if names else ''}</div></li>"
        )
    listing = f'<ol class="stories">{"".join(rows)}</ol>' if rows else "<p>No stories yet.</p>"
    atom, json, rss = (ctx.stories_feed(ext) for ext in ("atom", "json", "rss"))
    body = (
        f"<h1>Latest stories</h1>{listing}"
        f'<p class="feeds">Feeds: {_feed_links(atom, json, rss)}</p>'
    )
    return _document("wirefeed", body, _alternates(atom, json, rss))


def _sources_of(story: Story) -> list[str]:
    found = list(story.sources)
    for entry in story.entries:
        found += [entry.source_id, *(s for s, _url in entry.also)]
    return sorted(set(found))


def _feed_links(atom: str, json: str, rss: str) -> str:
    return (
        f'<a href="{escape(atom)}">Atom</a> · <a href="{escape(json)}">JSON Feed</a> · '
        f'<a href="{escape(rss)}">RSS</a>'
    )


def _updates(count: int) -> str:
    return "1 update" if count == 1 else f"{count} updates"


def _alternates(atom: str, json: str, rss: str) -> str:
    return (
        f'<link rel="alternate" type="application/atom+xml" href="{escape(atom)}">'
        f'<link rel="alternate" type="application/feed+json" href="{escape(json)}">'
        f'<link rel="alternate" type="application/rss+xml" href="{escape(rss)}">'
    )


def _document(title: str, body: str, head: str, *, refresh: bool = True) -> str:
    return (
        '<!doctype html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        + ('<meta http-equiv="refresh" content="20">' if refresh else "")
        + f"<title>{escape(title)}</title>{head}<style>{_STYLE}</style></head>"
        f"<body>{body}</body></html>\n"
    )
