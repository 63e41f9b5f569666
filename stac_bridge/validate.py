"""Validate STAC Items and Collections against their JSON schemas, offline.

The schemas that stac-bridge's outputs declare ship inside the package (``stac_bridge/schemas``: the STAC core
v1.0.0 and v1.1.0, and the extensions eo, projection, raster, sar, sat, view, file, processing, product, grid,
timestamps, item-assets, scientific and version), laid out by URL with an ``index.json`` mapping each schema URL
to its file. They are used by default. A schema directory of the same layout may be given besides: its schemas
take precedence, the shipped ones fill in. A schema that neither holds is an error naming its URL, never a
download. ``online=True`` validates through pystac's validator instead (which fetches the schemas).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any, Final

import jsonschema
import referencing
import referencing.exceptions
from referencing.jsonschema import DRAFT7

from stac_bridge.errors import SchemaNotFoundError, ValidationError

__all__ = ["SHIPPED_SCHEMAS", "core_schema_url", "schema_urls", "validate", "validate_many", "Validator"]

#: The schema directory inside the package.
SHIPPED_SCHEMAS: Final = Path(__file__).with_name("schemas")

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
    """A reusable validator: offline over the shipped schemas (and ``schema_dir``), or online.

    Args:
        schema_dir: A directory with ``index.json`` (schema URL -> relative path) and the schema files; its
            schemas take precedence over the shipped ones.
        online: Validate through pystac, which downloads the schemas (``schema_dir`` is then ignored).

    Raises:
        SchemaNotFoundError: ``schema_dir`` has no ``index.json``.
    """

    def __init__(self, schema_dir: str | Path | None = None, *, online: bool = False) -> None:
        self.schema_dir = Path(schema_dir) if schema_dir is not None else SHIPPED_SCHEMAS
        self._registry: referencing.Registry[Any] | None = None
        if not online:
            dirs = [SHIPPED_SCHEMAS.resolve()]
            if schema_dir is not None and self.schema_dir.resolve() != dirs[0]:
                dirs.append(self.schema_dir.resolve())
            self._registry = _offline_registry(tuple(dirs))
        self._where = _where(self.schema_dir)

    def errors(self, stac: Mapping[str, Any]) -> list[str]:
        """Every schema violation of one object, each naming the schema and the JSON path; empty when valid."""
        if self._registry is None:
            return _online_errors(stac)
        problems: list[str] = []
        for url in schema_urls(stac):
            try:
                schema = self._registry.contents(url)
            except referencing.exceptions.NoSuchResource:
                raise SchemaNotFoundError(url, self._where) from None
            validator = jsonschema.Draft7Validator(schema, registry=self._registry)
            try:
                found = sorted(validator.iter_errors(dict(stac)), key=lambda e: list(e.absolute_path))
            except referencing.exceptions.Unresolvable as exc:
                raise SchemaNotFoundError(str(getattr(exc, "ref", exc)), self._where) from None
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


def _where(schema_dir: Path) -> str:
    if schema_dir.resolve() == SHIPPED_SCHEMAS.resolve():
        return "the schemas shipped with stac-bridge (add a directory of others with --schemas DIR)"
    return f"{schema_dir} nor in the schemas shipped with stac-bridge"


@lru_cache(maxsize=8)
def _offline_registry(schema_dirs: tuple[Path, ...]) -> referencing.Registry[Any]:
    """One registry over the directories; a URL in a later directory replaces the same URL of an earlier one."""
    by_url: dict[str, Path] = {}
    for schema_dir in schema_dirs:
        index_path = schema_dir / "index.json"
        try:
            index: dict[str, str] = json.loads(index_path.read_text())
        except FileNotFoundError:
            raise SchemaNotFoundError(str(index_path), f"{schema_dir} (a schema directory needs an index.json "
                                      "mapping schema URLs to files)") from None
        by_url.update({url: schema_dir / relative for url, relative in index.items()})
    resources = []
    for url, path in by_url.items():
        contents = json.loads(path.read_text())
        resources.append((url, referencing.Resource.from_contents(contents, default_specification=DRAFT7)))
    where = _where(schema_dirs[-1])

    def refuse(uri: str) -> referencing.Resource[Any]:
        raise SchemaNotFoundError(uri, where)

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
        schema_dir: A schema directory besides the shipped schemas (see the module docstring).

    Raises:
        ValidationError: The object violates its core schema or one of its extensions' schemas.
        SchemaNotFoundError: A schema URL the object names is neither shipped nor in ``schema_dir``.
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
