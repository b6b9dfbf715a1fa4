"""Which ninjs version a document conforms to, checked against the IPTC's own JSON Schemas.

The schemas ship as package data (``ingest/parse/schemas``, MIT, see its README); they are read
once, on first use, and compiled with jsonschema. A ninjs document rarely says which version it
is (the ``standard``/``$standard`` declaration is optional and, in the IPTC's own test suite,
sometimes wrong), so:

- a source may pin its version (``ninjs_version`` in the sources file): the document must then
  conform to that schema;
- otherwise the document is read as the newest released version it conforms to, then the
  development drafts; if it conforms to none, the error reported is the one of the schema it
  comes closest to (fewest errors, newest first on a tie).
- One leniency, for unpinned documents only: wires mix field names of two versions (1.x
  ``body_text`` beside 2.x ``headlines``). A document whose only faults against its closest
  schema are top-level fields that another ninjs version defines is read, with a warning
  naming them (``Conformance.mixed``). A field no version defines is still refused.

Every refusal names the version, the field (as a JSON path) and the rule that failed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema
from jsonschema.exceptions import ValidationError, best_match

SCHEMAS = {
    "3.1": "ninjs-schema_3.1.json",
    "3.0": "ninjs-schema_3.0.json",
    "2.2": "ninjs-schema_2.2.json",
    "2.1": "ninjs-schema_2.1.json",
    "2.0": "ninjs-schema_2.0.json",
    "1.6": "ninjs-schema_1.6.json",
    "1.5": "ninjs-schema_1.5.json",
    "1.4": "ninjs-schema_1.4.json",
    "1.3": "ninjs-schema_1.3.json",
    "1.2": "ninjs-schema_1.2.json",
    "1.1": "ninjs-schema_1.1.json",
    "1.0": "ninjs-schema_1.0.json",
    "2.x-dev": "ninjs-schema-dev_0.1_v2.1.json",
    "1.x-dev": "ninjs-schema-dev_0.2_v1.5.json",
}
"""Every version we validate against, in the order a document without a pin is tried."""
VERSIONS = tuple(SCHEMAS)

_GEOJSON_URI = "https://geojson.org/schema/GeoJSON.json"
_GEOJSON_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
    "Feature",
    "FeatureCollection",
)
_GEOJSON: dict[str, Any] = {
    # A stand-in of our own for geojson.org's schema (RFC 7946 section 1.4 object types):
    # ninjs only needs to know that a place's geometry is a GeoJSON object.
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": _GEOJSON_URI,
    "type": "object",
    "required": ["type"],
    "properties": {
        "type": {"enum": list(_GEOJSON_TYPES)},
        "coordinates": {"type": "array"},
        "bbox": {"type": "array", "minItems": 4, "items": {"type": "number"}},
    },
}


class NinjsInvalid(ValueError):
    """A document that conforms to no ninjs schema (or not to the pinned one)."""


@dataclass(frozen=True, slots=True)
class Conformance:
    """The version a document was read as."""

    version: str
    mixed: tuple[str, ...] = ()
    """Top-level fields of other ninjs versions that the document mixed in (unpinned only)."""


def conform(doc: Any, pinned: str | None = None) -> Conformance:
    """The ninjs version ``doc`` conforms to; raise :class:`NinjsInvalid` naming the version,
    the field and the rule when it conforms to none (or not to ``pinned``)."""
    if pinned is not None:
        error = _first_error(pinned, doc)
        if error is not None:
            raise NinjsInvalid(f"ninjs {pinned}: {_describe(error)}")
        return Conformance(pinned)
    closest: tuple[int, str, list[ValidationError]] | None = None
    for version in VERSIONS:
        errors = list(_validator(version).iter_errors(doc))
        if not errors:
            return Conformance(version)
        if closest is None or len(errors) < closest[0]:
            closest = (len(errors), version, errors)
    assert closest is not None
    count, version, errors = closest
    mixed = _mixed_fields(doc)
    if mixed:
        return Conformance(version, mixed)
    error = _best(errors)
    more = f" (and {count - 1} more)" if count > 1 else ""
    raise NinjsInvalid(f"conforms to no ninjs schema; as ninjs {version}: {_describe(error)}{more}")


def _mixed_fields(doc: Any) -> tuple[str, ...]:
    """For a document that mixes versions: the fields that its closest versions lack, if
    every field on its own conforms to some ninjs version that defines it; () otherwise.
    A field no version defines, or a value wrong in every version that defines it, leaves
    the document refused."""
    if not isinstance(doc, dict) or "uri" not in doc:
        return ()
    newest = VERSIONS[0]
    for name, value in doc.items():
        if name == "uri":
            continue
        alone = {"uri": doc["uri"], name: value}
        if not any(_defines(v, name) and _validator(v).is_valid(alone) for v in VERSIONS):
            return ()
    return tuple(sorted(k for k in doc if not _defines(newest, k)))


def _defines(version: str, name: str) -> bool:
    names, patterns = _fields(version)
    return name in names or any(p.search(name) for p in patterns)


@cache
def _fields(version: str) -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    """The top-level field names and name patterns ninjs ``version`` defines."""
    schema = _schema(SCHEMAS[version])
    holders = [schema] + [
        d
        for d in schema.get("$defs", {}).values()
        if isinstance(d, dict) and "uri" in d.get("properties", {})
    ]
    names: set[str] = set()
    patterns: list[re.Pattern[str]] = []
    for holder in holders:
        names.update(holder.get("properties", {}))
        patterns += [re.compile(p) for p in holder.get("patternProperties", {})]
    return frozenset(names), tuple(patterns)


def _first_error(version: str, doc: Any) -> ValidationError | None:
    errors = list(_validator(version).iter_errors(doc))
    return _best(errors) if errors else None


def _best(errors: list[ValidationError]) -> ValidationError:
    found: ValidationError | None = best_match(errors)
    assert found is not None
    return found


def _describe(error: ValidationError) -> str:
    """``$.field.path: rule: what was wrong`` (the message cut to one short line)."""
    message = " ".join(error.message.split())
    if len(message) > 200:
        message = message[:197] + "..."
    return f"{error.json_path}: {error.validator}: {message}"


@cache
def _validator(version: str) -> Any:
    if version not in SCHEMAS:
        raise NinjsInvalid(f"unknown ninjs version {version!r}")
    schema = _schema(SCHEMAS[version])
    cls = jsonschema.validators.validator_for(schema)
    return cls(schema, registry=_registry())


@cache
def _registry() -> referencing.Registry[Any]:
    geojson = referencing.Resource.from_contents(
        _GEOJSON, default_specification=referencing.jsonschema.DRAFT202012
    )
    registry: referencing.Registry[Any] = referencing.Registry().with_resource(
        _GEOJSON_URI, geojson
    )
    return registry


def _schema(name: str) -> dict[str, Any]:
    text = resources.files("ingest.parse").joinpath("schemas", name).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema
