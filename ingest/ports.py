"""What each user of storage needs from it: the ports, split by who calls them.

:class:`~ingest.store.redis_store.RedisStore` implements them all over one Redis or Redis
Cluster; :mod:`ingest.pipeline` sees only :class:`IngestStore`, so the path of an item is
read from what it calls there. Adapters return records (our model, the evidence as read, what
a claim found); every verdict is a pure function of :mod:`ingest.dedupe`,
:mod:`ingest.stories`, :mod:`ingest.races` and :mod:`ingest.versions`. Every write is
idempotent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Protocol

from config.sources import Source, StoryRule
from ingest.dedupe import Evidence, NearRecord
from ingest.model import Entry, Item, Known, Plan, SourceStatus, Story
from ingest.planner import Lookup
from ingest.similar import Opening
from ingest.store.embargo import Held
from ingest.stories import StoryEvidence

NearClaim = tuple[dict[str, set[str]], tuple[NearRecord, ...]]
"""What entering the near-copy index found: per bucket the entries there before, and the
records of those sharing most buckets (see :func:`ingest.dedupe.won_race`)."""


class EvidenceReads(Protocol):
    """What decisions are taken against: reads only."""

    async def evidence(self, source_id: str, items: Sequence[Item]) -> list[Evidence]: ...
    async def known_identities(self, source_id: str, identities: Sequence[str]) -> set[str]: ...
    async def article_sections(
        self, source_id: str, identities: Sequence[str]
    ) -> dict[str, list[str]]: ...
    async def story_evidence(
        self, source_id: str, items: Sequence[Item], rules: Sequence[StoryRule], now: datetime
    ) -> tuple[list[StoryEvidence], list[Lookup]]: ...


class Races(Protocol):
    """The claims that settle races between workers storing at the same moment, and what
    they found (see :mod:`ingest.races`)."""

    async def claim(self, plans: Sequence[Plan]) -> list[tuple[Known | None, Known | None]]: ...
    async def claim_near(self, plans: Sequence[Plan]) -> list[NearClaim]: ...
    async def withdraw_near(self, plan: Plan) -> None: ...
    async def hand_over(self, plan: Plan, owner: Known) -> None: ...
    async def copy_owners(self, owners: Mapping[int, Known]) -> dict[int, Known]: ...
    async def held_credits(
        self, wanted: Iterable[tuple[str, str, str]]
    ) -> dict[tuple[str, str], str]: ...
    async def open_stories(self, plans: Sequence[Plan]) -> list[list[Opening]]: ...
    async def opened_into(self, joined: Mapping[str, str]) -> None: ...
    async def merges(self, stories: Iterable[str]) -> dict[str, str]: ...


class Writes(Protocol):
    """The writes of settled plans, embargoes and the merges stored items call for."""

    async def hold_embargoed(self, items: Sequence[Item], now: datetime) -> list[Item]: ...
    async def take_embargoed(self, now: datetime, limit: int) -> list[Held]: ...
    async def embargo_done(self, held: Sequence[Held]) -> None: ...
    async def previous_entries(self, plans: Sequence[Plan]) -> dict[str, Entry]: ...
    async def write(
        self,
        plans: Sequence[Plan],
        entries: Sequence[Entry | None],
        *,
        timezone: str,
        now: datetime,
    ) -> None: ...
    async def merge_bridged(
        self, merges: Sequence[tuple[str, str]], *, now: datetime
    ) -> list[tuple[str, str, int]]: ...


class Statuses(Protocol):
    """A source's health and schedule record, and the raw entries it sent before."""

    async def seen_entries(self, source_id: str, digests: Sequence[str]) -> set[str]: ...
    async def mark_seen(self, source_id: str, digests: Sequence[str], now_ms: int) -> None: ...

    async def source_status(self, source_id: str) -> SourceStatus: ...
    async def save_status(
        self, status: SourceStatus, previous: SourceStatus | None = None
    ) -> None: ...


class IngestStore(EvidenceReads, Races, Writes, Statuses, Protocol):
    """Everything :mod:`ingest.pipeline` calls."""

    async def get_sources(self, source_ids: Iterable[str] | None = None) -> list[Source]: ...


class SourceStore(Statuses, Protocol):
    """What workers and editors' tools need of the configured sources and their statuses."""

    async def source_statuses(self, source_ids: Sequence[str]) -> dict[str, SourceStatus]: ...
    async def set_state(self, source_id: str, state: str) -> None: ...
    async def note_schedule(
        self, status: SourceStatus, interval: float | None, reason: str
    ) -> None: ...
    async def put_sources(self, sources: Sequence[Source]) -> None: ...
    async def get_sources(self, source_ids: Iterable[str] | None = None) -> list[Source]: ...


class StoryReads(Protocol):
    """What the output side reads of stories."""

    async def recent_stories(self, limit: int, *, entries: int = 10) -> list[Story]: ...
    async def story(self, story_id: str, *, entries: int = 200) -> Story | None: ...
    async def page_stories(self, pages: Iterable[str]) -> dict[str, str]: ...
