"""The admin API against its own OpenAPI 3.1 document: the document is valid
(openapi-spec-validator), the app serves it, and schemathesis sends generated requests to
every route but preview (a bounded number each, to keep the suite fast) and checks that no
answer is a 5xx and that every answer conforms to the document (status, content type, body
schema); and every route refuses a request without a token, every mutating one a viewer's.

The app runs over the session's Redis (module-scoped: Hypothesis runs many examples against
one server); what the generated requests change there is thrown away by the next test's flush.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.settings import Settings
from config.tokens import digest
from feeds.openapi import document
from ingest.store.connect import flush_all
from tests.support import serve_app

EDITOR, VIEWER = "schema-editor-" + "e" * 30, "schema-viewer-" + "v" * 30
# Preview fetches the URL it is given: generated URLs could name any host, and tests reach
# loopback only. Its refusals are checked below and its answers in test_desk_api.
SCHEMA = schemathesis.openapi.from_dict(document()).exclude(path="/admin/sources/preview")
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
def api_url(redis_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    flush_all(redis_url)
    path: Path = tmp_path_factory.mktemp("tokens") / "tokens.yaml"
    path.write_text(
        "tokens:\n"
        f"  - {{name: ed, role: editor, sha256: {digest(EDITOR)}}}\n"
        f"  - {{name: vi, role: viewer, sha256: {digest(VIEWER)}}}\n",
        encoding="utf-8",
    )
    settings_ = Settings(redis_url=redis_url, tokens_file=path)
    with serve_app(settings_) as url:
        yield url


def test_the_document_is_valid_openapi_3_1() -> None:
    validate(document())  # raises with the path of the first problem
    assert document()["openapi"] == "3.1.0"


def test_the_app_serves_the_document(api_url: str) -> None:
    response = httpx.get(f"{api_url}/admin/openapi.json", timeout=10)
    assert response.status_code == 200
    assert response.json() == document()


@SCHEMA.parametrize()
@settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    derandomize=True,
)
def test_every_route_conforms(case: Any, api_url: str) -> None:
    case.call_and_validate(
        base_url=api_url, headers={"Authorization": f"Bearer {EDITOR}"}, checks=CHECKS
    )


def test_every_route_refuses_missing_and_low_tokens(api_url: str) -> None:
    """Every operation the document lists, without a token and (mutating ones, and the audit
    trail) with a viewer's: refused before anything is read or changed."""
    for path, operations in document()["paths"].items():
        url = api_url + path.replace("{story_id}", "s1").replace("{entry_id}", "e1")
        url = url.replace("{source_id}", "src1")
        for method, op in operations.items():
            if "security" not in op:
                continue
            response = httpx.request(method, url, json={}, timeout=10)
            assert response.status_code == 401, (method, path, response.text)
            assert response.json()["error"].startswith("missing or wrong admin token")
            if method != "get" or path == "/admin/audit":
                low = httpx.request(
                    method, url, json={}, headers={"Authorization": f"Bearer {VIEWER}"}, timeout=10
                )
                assert low.status_code == 403, (method, path, low.text)
                assert "needs the editor role" in low.json()["error"]
