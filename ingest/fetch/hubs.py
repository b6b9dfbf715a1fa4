"""HTTP to WebSub hubs (W3C WebSub): the client that talks to them, and one form POST.

The web app pings the hubs it is configured with (section 7, publishing); the worker
subscribes to the hubs sources advertise (section 5.1, through
:class:`ingest.fetch.subscriber.RedisSubscriber`), so its client passes the address policy of
:mod:`ingest.fetch.guard`. Each process opens its client once (:func:`open_hub_client`) and
closes it (``aclose``) when it stops. httpx errors become :class:`~ingest.errors.HubError`
here; callers outside :mod:`ingest.fetch` never import httpx.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TypeAlias

import httpx

from ingest.errors import HubError
from ingest.fetch.guard import AddressPolicy
from ingest.fetch.http import GuardedTransport

HubClient: TypeAlias = httpx.AsyncClient
"""An HTTP client for hubs, owned (opened and closed) by the process that made it."""

__all__ = ["HubClient", "open_hub_client", "post_form"]


def open_hub_client(policy: AddressPolicy | None = None, *, timeout: float = 10.0) -> HubClient:
    """A client for hubs, with ``timeout`` seconds per phase and no proxy from the
    environment; with ``policy``, it connects only where the policy allows (hubs a source
    named), without, anywhere (hubs an operator configured)."""
    if policy is None:
        return httpx.AsyncClient(timeout=timeout, trust_env=False)
    return httpx.AsyncClient(transport=GuardedTransport(policy), timeout=timeout, trust_env=False)


async def post_form(client: HubClient, url: str, form: Mapping[str, str | Sequence[str]]) -> int:
    """POST ``form`` to ``url`` as ``application/x-www-form-urlencoded`` (a sequence value
    repeats its field, e.g. several ``hub.url``) and return the answer's status; redirects
    are not followed. A hub that cannot be reached is a :class:`HubError` saying which and
    why."""
    try:
        response = await client.post(url, data=dict(form))
    except httpx.HTTPError as exc:
        raise HubError(f"hub {url} unreachable: {exc}") from exc
    return response.status_code
