"""Per-person bearer tokens with roles: the tokens file, its loader and lookups.

The file (``WIREFEED_TOKENS_FILE``, YAML) names people, their role and the SHA-256 of their
token; the token itself is never stored::

    tokens:
      - name: alma             # who: this name is what the audit trail records
        role: editor           # viewer | editor | admin
        sha256: 9f86d08...     # hex digest of the token (``wirefeed tokens add`` writes it)

Roles are ordered: a viewer reads (status, stories, ``/ops``), an editor also changes stories
and sources, an admin may do everything. Why SHA-256 and not bcrypt: the tokens are 256-bit
random strings made by ``wirefeed tokens add``, not passwords a person chose, so there is no
dictionary to guess from and a slow hash buys nothing; a fast one lets every request be checked
without costing the web process 100 ms of CPU. A lookup compares digests, so timing reveals
nothing about a token (the digest of a guess says nothing about the digest it is near).

Rotation needs no restart: :class:`TokenFile` looks at the file's size and modification time on
each lookup (one ``stat``) and reads it again when either changed. A broken file is refused with
every problem named and the tokens read last stay in force.

The old single ``WIREFEED_ADMIN_TOKEN`` keeps working as an admin token named ``admin``.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import re
import secrets
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROLES = ("viewer", "editor", "admin")
_RANK = {role: n for n, role in enumerate(ROLES)}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@-]{0,63}")
_DIGEST = re.compile(r"[0-9a-f]{64}")
LEGACY_NAME = "admin"

log = logging.getLogger("wirefeed.tokens")


class TokensError(ValueError):
    """A tokens file that cannot be used; ``problems`` lists every message."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class Principal:
    """Who made a request, and in which role."""

    name: str
    role: str

    def can(self, role: str) -> bool:
        """Whether this principal's role is ``role`` or above it."""
        return _RANK[self.role] >= _RANK[role]


def digest(token: str) -> str:
    """The hex SHA-256 of a token, as the tokens file stores it."""
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    """A fresh random token (256 bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def parse_tokens(text: str, path: Path) -> dict[str, Principal]:
    """Validate a tokens file's YAML ``text``: digest -> principal. Raises
    :class:`TokensError` listing every problem as ``FILE: token #N: FIELD: what, got VALUE``."""
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise TokensError([f"{path}: invalid YAML: {exc}"]) from None
    if doc is None:
        doc = {"tokens": []}
    if not isinstance(doc, dict) or set(doc) - {"tokens"}:
        raise TokensError([f"{path}: must be a mapping with one key, 'tokens' (a list)"])
    raw = doc.get("tokens") or []
    if not isinstance(raw, list):
        raise TokensError([f"{path}: tokens: must be a list, got {type(raw).__name__}"])
    problems: list[str] = []
    found: dict[str, Principal] = {}
    for n, entry in enumerate(raw, start=1):
        principal, hexdigest = _entry(entry, f"{path}: token #{n}", problems)
        if principal is None:
            continue
        if hexdigest in found:
            problems.append(f"{path}: token #{n}: sha256: the same token is listed twice")
        found[hexdigest] = principal
    if problems:
        raise TokensError(problems)
    return found


def _entry(entry: Any, label: str, problems: list[str]) -> tuple[Principal | None, str]:
    if not isinstance(entry, dict):
        problems.append(f"{label}: must be a mapping with name, role, sha256")
        return None, ""
    before = len(problems)
    for key in entry:
        if key not in ("name", "role", "sha256"):
            problems.append(f"{label}: {key}: unknown field (expected name, role, sha256)")
    name, role, hexdigest = entry.get("name"), entry.get("role"), entry.get("sha256")
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        problems.append(
            f"{label}: name: must be a short name (letters, digits, ._@-), got {name!r}"
        )
    if role not in ROLES:
        problems.append(f"{label}: role: must be one of {', '.join(ROLES)}, got {role!r}")
    if not isinstance(hexdigest, str) or not _DIGEST.fullmatch(hexdigest):
        problems.append(f"{label}: sha256: must be 64 lowercase hex digits, got {hexdigest!r}")
    if len(problems) > before:
        return None, ""
    return Principal(str(name), str(role)), str(hexdigest)


class TokenFile:
    """The tokens of a file, read again whenever it changes (see the module docstring), plus
    the legacy admin token. Safe to call from one event loop; a lookup does one ``stat``."""

    def __init__(self, path: Path | None, legacy: str | None = None) -> None:
        self.path = path
        self.legacy = legacy
        self.error: str | None = None
        """Why the file on disk was refused, while the previous tokens stay in force."""
        self._seen: tuple[int, int] | None = None
        self._tokens: dict[str, Principal] = {}
        self.refresh()

    @property
    def configured(self) -> bool:
        """Whether any token can be accepted at all (else the admin API is off)."""
        return self.path is not None or bool(self.legacy)

    def refresh(self) -> None:
        """Read the file again if its size or modification time changed."""
        if self.path is None:
            return
        try:
            stat = self.path.stat()
        except OSError as exc:
            self._refuse(f"{self.path}: cannot read the file: {exc.strerror or exc}")
            return
        seen = (stat.st_mtime_ns, stat.st_size)
        if seen == self._seen:
            return
        self._seen = seen
        try:
            self._tokens = parse_tokens(self.path.read_text(encoding="utf-8"), self.path)
        except (TokensError, OSError, UnicodeDecodeError) as exc:
            problems = exc.problems if isinstance(exc, TokensError) else [f"{self.path}: {exc}"]
            self._refuse("; ".join(problems))
            return
        self.error = None
        log.info("tokens file %s: %d tokens", self.path, len(self._tokens))

    def _refuse(self, message: str) -> None:
        if message != self.error:
            log.error("tokens file refused, the previous tokens stay in force: %s", message)
        self.error = message

    def lookup(self, token: str) -> Principal | None:
        """The principal ``token`` belongs to, or ``None``."""
        if not token:
            return None
        if self.legacy and hmac.compare_digest(token.encode(), self.legacy.encode()):
            return Principal(LEGACY_NAME, "admin")
        self.refresh()
        return self._tokens.get(digest(token))

    def by_digest(self, hexdigest: str) -> Principal | None:
        """The principal whose token has this digest now (a rotated-out token has none):
        web desk sessions keep the digest, not the token, and end with it."""
        if self.legacy and hmac.compare_digest(hexdigest, digest(self.legacy)):
            return Principal(LEGACY_NAME, "admin")
        self.refresh()
        return self._tokens.get(hexdigest)


def add_token(path: Path, name: str, role: str) -> str:
    """Append a new token for ``name`` with ``role`` to the file at ``path`` (created if
    missing); return the token, which is shown once and stored only as its digest."""
    existing = path.read_text(encoding="utf-8") if path.exists() else ""
    parse_tokens(existing, path)  # refuse to add to a broken file
    candidate = Principal(name, role)
    problems: list[str] = []
    token = new_token()
    _entry({"name": name, "role": role, "sha256": digest(token)}, f"{path}: new token", problems)
    if problems:
        raise TokensError(problems)
    doc = yaml.safe_load(existing) or {"tokens": []}
    doc.setdefault("tokens", []).append(
        {"name": candidate.name, "role": candidate.role, "sha256": digest(token)}
    )
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    tmp.chmod(0o600)
    tmp.replace(path)  # atomic: a web process never reads half a file
    return token
