"""Drop folders: a source of kind ``folder`` is a directory that wire files land in. File and
Redis I/O.

::

    scan(source)
        list      DIR/* : regular files only; hidden (".name") and in-progress names
                  ("*.tmp", "*.part", "*.partial", "*.crdownload") are being written: skipped
        | stable  last modified at least STABLE_SECONDS before now (a writer that does not
                  rename is given time to finish), and unchanged while it is read
        | claim   SET NX on (source, name, size, mtime) with a lease: of two workers (or a
                  worker and its restarted self) one takes the file
        | ingest  ingest.pipeline.ingest_document: any format ``kind: auto`` reads
        | move    DIR/done/NAME, or DIR/failed/NAME with DIR/failed/NAME.error saying why

The convention writers are asked to follow is write-then-rename: write ``.NAME`` or
``NAME.tmp`` and rename it to ``NAME`` when complete (rename is atomic within a filesystem).
A file is moved out of the inbox once handled, so a restart never sees it again; a worker that
dies between storing and moving leaves it to be taken again after the lease, which the store's
idempotent writes make harmless (nothing is stored twice).
"""

from __future__ import annotations

import asyncio
import os
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import redis.asyncio as aioredis

from config.sources import Source
from ingest import health, keys
from ingest.errors import FetchError, ParseError
from ingest.model import FetchResult, IngestReport, SourceStatus
from ingest.pipeline import IngestPolicy, ingest_document
from ingest.ports import IngestStore

STABLE_SECONDS = 2.0
"""A file must be this old (by mtime) before it is read: writers that append get time."""
CLAIM_SECONDS = 300.0
"""How long a claimed file is one worker's to ingest and move."""
MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_FILES_PER_SCAN = 200
_IN_PROGRESS = (".tmp", ".part", ".partial", ".crdownload", ".error")


@dataclass(frozen=True, slots=True)
class FolderReport:
    """What one scan did: files ingested, files failed, files left for later."""

    source_id: str
    done: tuple[str, ...] = ()
    failed: tuple[tuple[str, str], ...] = ()
    waiting: tuple[str, ...] = ()
    totals: IngestReport | None = None
    error: str | None = None


def candidates(directory: Path, now: datetime, stable: float = STABLE_SECONDS) -> list[Path]:
    """Files of ``directory`` ready to read at ``now``, oldest first (see the module)."""
    ready = []
    for entry in os.scandir(directory):
        name = entry.name
        if name.startswith(".") or name.endswith(_IN_PROGRESS) or not entry.is_file():
            continue
        if entry.stat().st_mtime <= now.timestamp() - stable:
            ready.append((entry.stat().st_mtime_ns, Path(entry.path)))
    return [path for _, path in sorted(ready)][:MAX_FILES_PER_SCAN]


async def scan(
    source: Source,
    *,
    store: IngestStore,
    client: aioredis.Redis,
    now: datetime,
    policy: IngestPolicy | None = None,
    stable: float = STABLE_SECONDS,
) -> FolderReport:
    """Ingest every ready file of ``source``'s folder once and move it out of the inbox.
    Never raises for what is in the folder; a missing folder is reported as ``error``."""
    directory = Path(source.path or "")
    if not await asyncio.to_thread(directory.is_dir):
        return FolderReport(source.id, error=f"drop folder {directory} is not a directory")
    done, failed, waiting = [], [], []
    totals = IngestReport(source.id, status="ok")
    for path in await asyncio.to_thread(candidates, directory, now, stable):
        try:
            if not await _claim(client, source.id, path):
                waiting.append(path.name)
                continue
            report = await _ingest(source, path, store=store, now=now, policy=policy)
        except FileNotFoundError:  # another worker took it and moved it away
            continue
        except _Unstable:
            waiting.append(path.name)
            continue
        except _Refused as exc:
            await asyncio.to_thread(_move, path, directory / "failed", reason=str(exc))
            failed.append((path.name, str(exc)))
            continue
        await asyncio.to_thread(_move, path, directory / "done")
        done.append(path.name)
        totals = _add(totals, report)
    return FolderReport(source.id, tuple(done), tuple(failed), tuple(waiting), totals)


class _Refused(Exception):
    """A file that cannot be ingested; the message is its .error file."""


class _Unstable(Exception):
    """The file changed while it was read: still being written, left for a later scan."""


async def ingest_folder(
    source: Source,
    *,
    store: IngestStore,
    client: aioredis.Redis,
    now: datetime,
    policy: IngestPolicy | None = None,
    status: SourceStatus | None = None,
) -> IngestReport:
    """One scan of a drop folder as a poll: the report a worker reschedules from, with the
    source's new status in ``after`` (not saved here). A missing folder fails the source."""
    policy = policy or IngestPolicy()
    before = status or await store.source_status(source.id)
    found = await scan(source, store=store, client=client, now=now, policy=policy)
    if found.error is not None:
        after = health.failed(before, FetchError(found.error), now, policy.health)
        return IngestReport(source.id, status="error", error=found.error, after=after)
    totals = found.totals or IngestReport(source.id, status="ok")
    answer = FetchResult(url=source.url, status=200, headers={})
    after = health.succeeded(
        before, answer, now, policy.health, new_items=totals.new, entries=totals.entries
    )
    error = "; ".join(reason for _name, reason in found.failed) or None
    return replace(totals, error=error, after=after)


async def _ingest(
    source: Source, path: Path, *, store: IngestStore, now: datetime, policy: IngestPolicy | None
) -> IngestReport:
    body = await asyncio.to_thread(_read_stable, path)
    try:
        return await ingest_document(
            source, body, store=store, now=now, policy=policy, base_url=path.as_uri()
        )
    except ParseError as exc:
        raise _Refused(f"{path.name}: cannot parse: {exc}") from None


def _read_stable(path: Path) -> bytes:
    """The file's bytes, if it is within the size cap and did not change while read."""
    before = path.stat()
    if before.st_size > MAX_FILE_BYTES:
        raise _Refused(f"{path.name}: {before.st_size} bytes, more than {MAX_FILE_BYTES} allowed")
    body = path.read_bytes()
    after = path.stat()
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise _Unstable(path.name)
    return body


async def _claim(client: aioredis.Redis, source_id: str, path: Path) -> bool:
    info = await asyncio.to_thread(os.stat, path)
    key = keys.folder_claim(source_id, f"{path.name}\x1f{info.st_size}\x1f{info.st_mtime_ns}")
    return bool(await client.set(key, "1", nx=True, px=int(CLAIM_SECONDS * 1000)))


def _move(path: Path, into: Path, *, reason: str | None = None) -> Path:
    """Move ``path`` into ``into`` (created if needed) under a name not taken yet; with a
    reason, write ``NAME.error`` beside it."""
    into.mkdir(exist_ok=True)
    target = into / path.name
    n = 1
    while target.exists():
        target = into / f"{path.stem}.{n}{path.suffix}"
        n += 1
    os.replace(path, target)
    if reason is not None:
        (into / f"{target.name}.error").write_text(reason + "\n", encoding="utf-8")
    return target


def _add(total: IngestReport, one: IngestReport) -> IngestReport:
    return replace(
        total,
        entries=total.entries + one.entries,
        new=total.new + one.new,
        updated=total.updated + one.updated,
        unchanged=total.unchanged + one.unchanged,
        duplicates=total.duplicates + one.duplicates,
        killed=total.killed + one.killed,
        held=total.held + one.held,
        skipped=total.skipped + one.skipped,
        merged=total.merged + one.merged,
        stories=tuple(dict.fromkeys(total.stories + one.stories)),
    )
