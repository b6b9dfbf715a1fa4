"""Log output: one JSON object per line for machines, a readable line for people.

We use the standard library's :mod:`logging` with our own small JSON formatter rather than
structlog: every library we run (uvicorn, APScheduler, httpx) already logs through
:mod:`logging`, so one formatter on the root handler makes all of their lines JSON too, with no
second pipeline to bridge and no new dependency. Structured fields travel in ``extra=``:

    log.info("poll", extra={"event": "poll", "source": "wire-a", "new": 2})

JSON lines carry ``ts`` (UTC, RFC 3339), ``level``, ``logger``, ``msg``, ``host``, ``pid`` and
every extra field; an exception becomes one ``exc`` string field, never a multi-line dump.
The console format prints the message followed by the extra fields as ``key=value``.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from datetime import UTC, datetime
from typing import IO, Any

_STANDARD = frozenset(
    vars(logging.LogRecord("x", logging.INFO, "x", 0, "x", None, None)).keys()
) | {"message", "asctime", "color_message", "taskName"}


def extras(record: logging.LogRecord) -> dict[str, Any]:
    """The structured fields a call passed in ``extra=``."""
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class JsonFormatter(logging.Formatter):
    """One JSON object per record, on one line."""

    def __init__(self) -> None:
        super().__init__()
        self.host = socket.gethostname()

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
            "host": self.host,
            "pid": record.process or os.getpid(),
        }
        data.update(extras(record))
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


class ConsoleFormatter(logging.Formatter):
    """``time level logger: message key=value ...``."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in extras(record).items() if k != "event"}
        if fields:
            first, _, rest = line.partition("\n")
            tail = " ".join(f"{k}={_short(v)}" for k, v in fields.items())
            line = f"{first} {tail}" + (f"\n{rest}" if rest else "")
        return line


def _short(value: object) -> str:
    text = str(value)
    return json.dumps(text) if (" " in text or not text) else text


def configure(level: str, fmt: str = "auto", stream: IO[str] | None = None) -> None:
    """Send every logger's records to ``stream`` (standard error) in ``fmt``: ``json``,
    ``console`` or ``auto`` (JSON unless the stream is a terminal)."""
    out = stream or sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter() if use_json else ConsoleFormatter())
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    if level != "DEBUG":  # one line per request or tick drowns what ops need to see
        for noisy in ("apscheduler", "httpx", "httpcore"):
            logging.getLogger(noisy).setLevel(logging.WARNING)


def _is_tty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
