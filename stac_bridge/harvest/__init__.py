"""Harvesting provider APIs: the HTTP client, the protocol clients (sources) and the streaming engine.

Sources are found by name in :data:`SOURCES`, an explicit dict of ``name -> "module:factory"`` imported only
when asked for. A factory takes :class:`SourceOptions` and returns a
:class:`~stac_bridge.harvest.engine.Source`; a provider's module adds one line here.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final

from stac_bridge.errors import ConfigError
from stac_bridge.harvest.http import DEFAULT_RETRY, RetryPolicy

if TYPE_CHECKING:
    from stac_bridge.harvest.engine import Source

__all__ = ["SOURCES", "SourceOptions", "create_source", "list_sources"]

#: Built-in sources, imported only when asked for.
SOURCES: Final[dict[str, str]] = {
    "stac": "stac_bridge.harvest.stac:create",
    "capella": "stac_bridge.harvest.capella:create",
    "opensearch": "stac_bridge.harvest.opensearch:create",
    "byoc": "stac_bridge.harvest.byoc:create",
    "descartes": "stac_bridge.harvest.descartes:create",
}


@dataclass(frozen=True)
class SourceOptions:
    """What the command line says about a harvest, for a source factory to use as its protocol allows.

    Attributes:
        url: The provider's API root.
        collections: Collection (product, BYOC collection) ids to harvest.
        bbox: ``[west, south, east, north]`` in WGS84, or ``None``.
        datetime: A STAC datetime or interval, or ``None``.
        page_size: Records per page to ask for, or ``None`` for the source's default.
        timeout: Seconds to wait for each response.
        retry: The HTTP retry policy.
        extra: Provider-specific options (credentials are read by the factory from the environment).
    """

    url: str
    collections: Sequence[str] = ()
    bbox: Sequence[float] | None = None
    datetime: str | None = None
    page_size: int | None = None
    timeout: float = 30.0
    retry: RetryPolicy = DEFAULT_RETRY
    extra: dict[str, Any] = field(default_factory=dict)


def list_sources() -> list[str]:
    """The names of the built-in sources."""
    return sorted(SOURCES)


def create_source(name: str, options: SourceOptions) -> Source:
    """The source ``name``, set up with ``options``.

    Raises:
        ConfigError: no source has that name, or it could not be loaded.
    """
    if name not in SOURCES:
        raise ConfigError(f"no harvest source named {name!r}; known: {', '.join(list_sources())}")
    module_name, _, attr = SOURCES[name].partition(":")
    try:
        factory: Callable[[SourceOptions], Source] = getattr(importlib.import_module(module_name), attr)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"source {name!r} could not be loaded from {SOURCES[name]}: {exc}") from exc
    return factory(options)
