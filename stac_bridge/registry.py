"""The adapters: one per provider, each binding that provider's transforms under one interface.

The CLI and the harvest engine work through this interface; users of the library usually call the transform
modules directly (``from stac_bridge.transforms import byoc``). The registry is an explicit dict of the built-in
adapters plus the entry-point group ``stac_bridge.adapters`` for third-party ones: nothing registers itself on
import.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any, Final, Protocol, runtime_checkable

from stac_bridge.errors import ConfigError

__all__ = ["Adapter", "ProviderRecord", "get_adapter", "list_adapters", "ENTRY_POINT_GROUP"]

ENTRY_POINT_GROUP: Final = "stac_bridge.adapters"

#: Built-in adapters, imported only when asked for.
_BUILTINS: Final[dict[str, str]] = {
    "stac": "stac_bridge.transforms.stac:ADAPTER",
    "capella": "stac_bridge.transforms.capella:ADAPTER",
    "opensearch": "stac_bridge.transforms.opensearch:ADAPTER",
    "descartes": "stac_bridge.transforms.descartes:ADAPTER",
    "byoc": "stac_bridge.transforms.byoc:ADAPTER",
}


@dataclass(frozen=True)
class ProviderRecord:
    """One raw provider record, with what its transform needs beside it.

    Attributes:
        kind: What the record is in the provider's model, e.g. ``"collection"``, ``"tile"``, ``"image"``.
        data: The record as the provider's API sends it (a JSON object).
        context: Other records the transform needs, e.g. ``{"collection": {...}}`` for a BYOC tile.
    """

    kind: str
    data: Mapping[str, Any]
    context: Mapping[str, Any] = field(default_factory=dict)

    @property
    def id(self) -> str | None:
        """The record's ``id``, when it has one."""
        value = self.data.get("id") if isinstance(self.data, Mapping) else None
        return str(value) if value is not None else None


@runtime_checkable
class Adapter(Protocol):
    """A provider's transforms under one interface.

    Attributes:
        name: The registry key, e.g. ``"byoc"``; also the prefix of the provider's own STAC fields.
        title: A human name for listings.
    """

    name: str
    title: str

    def classify(self, raw: Mapping[str, Any]) -> ProviderRecord:
        """Say what a raw record read from a file is (a collection, a tile, ...).

        Raises:
            TransformError: the record is none of this provider's kinds.
        """
        ...

    def to_stac(self, record: ProviderRecord) -> dict[str, Any]:
        """Translate one provider record to a STAC Item or Collection (as a dict).

        Raises:
            TransformError: the record cannot be translated; the error names the record and the field.
        """
        ...

    def from_stac(self, stac: Mapping[str, Any]) -> dict[str, Any]:
        """Translate a STAC Item or Collection back to the provider's wire form.

        Raises:
            TransformError: the object did not come from this provider's model and cannot be expressed in it.
        """
        ...


def _load(target: str, name: str) -> Adapter:
    module_name, _, attr = target.partition(":")
    try:
        obj: Any = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"adapter {name!r} could not be loaded from {target}: {exc}") from exc
    if callable(obj) and not isinstance(obj, Adapter):
        obj = obj()
    if not isinstance(obj, Adapter):
        raise ConfigError(f"adapter {name!r} from {target} does not implement the Adapter interface")
    return obj


def _targets() -> dict[str, str]:
    targets = dict(_BUILTINS)
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        targets.setdefault(ep.name, ep.value)
    return targets


def list_adapters() -> list[str]:
    """The names of every adapter: the built-in ones and those installed under the entry-point group."""
    return sorted(_targets())


def get_adapter(name: str) -> Adapter:
    """The adapter registered under ``name``.

    Raises:
        ConfigError: no adapter has that name, or it could not be loaded.
    """
    targets = _targets()
    if name not in targets:
        raise ConfigError(f"no adapter named {name!r}; known: {', '.join(sorted(targets))}")
    return _load(targets[name], name)
