"""What renderers need beyond the stories: absolute URLs, source names and WebSub hubs."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ingest.model import Story
from ingest.stories import rolling_headline


@dataclass(frozen=True, slots=True)
class Context:
    """Rendering context built from settings and the store's source list."""

    base: str
    source_names: Mapping[str, str] = field(default_factory=dict)
    hubs: tuple[str, ...] = ()
    prefix: str = "The Latest: "
    """Put before the headline of a story of several updates (WIREFEED_STORY_PREFIX)."""

    def headline(self, story: Story) -> str:
        """The headline as readers see it: a story of several updates (or one the wire
        itself called rolling) says so with the prefix, unless an editor worded it. A story
        whose items carry no title at all (link-only wire items) still gets a headline."""
        if not story.title.strip():
            return "(untitled story)"
        if story.titled_by_editor or not self.prefix:
            return story.title
        rest = rolling_headline(story.title)
        if rest is None and story.entry_count < 2:
            return story.title
        return self.prefix + (rest or story.title)

    def home(self) -> str:
        return self.base + "/"

    def story_page(self, story_id: str) -> str:
        return f"{self.base}/stories/{story_id}"

    def feed(
        self, family: str, ident: str, ext: str, *, archive: int | None = None, page: int = 1
    ) -> str:
        """The URL of a feed document. ``family`` is stories, story, source or tag."""
        if family == "stories":
            path = "/feeds/stories"
        else:
            plural = {"story": "stories", "source": "sources", "tag": "tags"}[family]
            path = f"/feeds/{plural}/{ident}"
        if archive is not None:
            path += f"/archive/{archive}"
        url = f"{self.base}{path}.{ext}"
        return f"{url}?page={page}" if page > 1 else url

    def story_feed(self, story_id: str, ext: str) -> str:
        return self.feed("story", story_id, ext)

    def stories_feed(self, ext: str) -> str:
        return self.feed("stories", "", ext)

    def credit(self, source_id: str) -> str:
        """The name to credit for ``source_id``: its configured title, else its id."""
        return self.source_names.get(source_id) or source_id
