"""Validate STAC Items and Collections against their JSON schemas.

Offline when given a schema directory laid out by URL with an ``index.json`` mapping each schema URL to its
file (as ``shared/stac-schemas`` is): then a schema that the directory does not hold is an error naming the URL,
never a download. Online otherwise, through pystac's validator (which fetches and caches the schemas).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT7

from stac_bridge.errors import SchemaNotFoundError, ValidationError

__all__ = ["core_schema_url", "schema_urls", "validate", "validate_many", "Validator"]

_CORE_PATHS = {
    "Feature": "item-spec/json-schema/item.json",
    "Collection": "collection-spec/json-schema/collection.json",
    "Catalog": "catalog-spec/json-schema/catalog.json",
}


def core_schema_url(stac: Mapping[str, Any]) -> str:
    """The core schema URL of a STAC object, from its ``type`` and ``stac_version``."""
    kind = stac.get("type")
    if kind not in _CORE_PATHS:
        raise ValidationError(_id(stac), [f"'type' is {kind!r}, not one of Feature, Collection, Catalog"])
    version = stac.get("stac_version")
    if not isinstance(version, str):
        raise ValidationError(_id(stac), ["'stac_version' is missing"])
    return f"https://schemas.stacspec.org/v{version}/{_CORE_PATHS[kind]}"


def schema_urls(stac: Mapping[str, Any]) -> list[str]:
    """Every schema a STAC object must satisfy: its core schema, then one per ``stac_extensions`` entry."""
    extensions = stac.get("stac_extensions") or []
    if not isinstance(extensions, list) or not all(isinstance(e, str) for e in extensions):
        raise ValidationError(_id(stac), ["'stac_extensions' must be a list of schema URLs"])
    return [core_schema_url(stac), *extensions]


def _id(stac: Mapping[str, Any]) -> str | None:
    value = stac.get("id")
    return value if isinstance(value, str) else None


class Validator:
    """A reusable validator; offline over ``schema_dir`` when given, online otherwise.

    Args:
        schema_dir: A directory with ``index.json`` (schema URL -> relative path) and the schema files.
    """

    def __init__(self, schema_dir: str | Path | None = None) -> None:
        self.schema_dir = Path(schema_dir) if schema_dir is not None else None
        self._registry: referencing.Registry[Any] | None = None
        if self.schema_dir is not None:
            self._registry = _offline_registry(self.schema_dir.resolve())

    def errors(self, stac: Mapping[str, Any]) -> list[str]:
        """Every schema violation of one object, each naming the schema and the JSON path; empty when valid."""
        if self._registry is None:
            return _online_errors(stac)
        problems: list[str] = []
        for url in schema_urls(stac):
            try:
                schema = self._registry.contents(url)
            except referencing.exceptions.NoSuchResource:
                raise SchemaNotFoundError(url, str(self.schema_dir)) from None
            validator = jsonschema.Draft7Validator(schema, registry=self._registry)
            try:
                found = sorted(validator.iter_errors(dict(stac)), key=lambda e: list(e.absolute_path))
            except referencing.exceptions.Unresolvable as exc:
                raise SchemaNotFoundError(str(getattr(exc, "ref", exc)), str(self.schema_dir)) from None
            for error in found:
                path = "/".join(str(p) for p in error.absolute_path) or "(root)"
                problems.append(f"{url} at {path}: {_best_message(error)}")
        return problems

    def validate(self, stac: Mapping[str, Any]) -> None:
        """Raise :class:`~stac_bridge.errors.ValidationError` unless the object is valid."""
        problems = self.errors(stac)
        if problems:
            raise ValidationError(_id(stac), problems)


def _best_message(error: jsonschema.ValidationError) -> str:
    # STAC schemas nest anyOf/oneOf deeply; the most specific sub-error says what is actually wrong.
    best = jsonschema.exceptions.best_match([error])
    return str(best.message)


@lru_cache(maxsize=8)
def _offline_registry(schema_dir: Path) -> referencing.Registry[Any]:
    index_path = schema_dir / "index.json"
    try:
        index: dict[str, str] = json.loads(index_path.read_text())
    except FileNotFoundError:
        raise SchemaNotFoundError(str(index_path), str(schema_dir)) from None
    resources = []
    for url, relative in index.items():
        contents = json.loads((schema_dir / relative).read_text())
        resources.append((url, referencing.Resource.from_contents(contents, default_specification=DRAFT7)))

    def refuse(uri: str) -> referencing.Resource[Any]:
        raise SchemaNotFoundError(uri, str(schema_dir))

    return referencing.Registry(retrieve=refuse).with_resources(resources)  # type: ignore[call-arg]


def _online_errors(stac: Mapping[str, Any]) -> list[str]:
    import pystac.validation
    from pystac.errors import STACValidationError

    try:
        pystac.validation.validate_dict(dict(stac))
    except STACValidationError as exc:
        return [str(exc)]
    return []


def validate(stac: Mapping[str, Any], *, schema_dir: str | Path | None = None) -> None:
    """Validate one STAC Item, Collection or Catalog (as a dict).

    Args:
        stac: The STAC object.
        schema_dir: Validate offline against this schema directory (see the module docstring).

    Raises:
        ValidationError: The object violates its core schema or one of its extensions' schemas.
        SchemaNotFoundError: Offline, a schema URL the object names is not in ``schema_dir``.
    """
    Validator(schema_dir).validate(stac)


def validate_many(objects: Iterable[Mapping[str, Any]], *, schema_dir: str | Path | None = None) -> int:
    """Validate every object; return how many there were. Stops at the first invalid one."""
    validator = Validator(schema_dir)
    count = 0
    for stac in objects:
        validator.validate(stac)
        count += 1
    return count
