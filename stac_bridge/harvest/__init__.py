"""Harvesting provider APIs: the HTTP client, the protocol clients (sources) and the streaming engine.

A provider's source is found through its declaration (:class:`stac_bridge.plugin.Provider` ``source``): a
factory that takes :class:`SourceOptions` and returns a :class:`~stac_bridge.harvest.engine.Source`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from stac_bridge.errors import ConfigError
from stac_bridge.harvest.http import DEFAULT_RETRY, RetryPolicy

if TYPE_CHECKING:
    from stac_bridge.harvest.engine import Source

__all__ = ["SourceOptions", "create_source", "list_sources"]

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
    """The names of the installed providers that can be harvested."""
    from stac_bridge.plugin import providers

    return [name for name, provider in providers().items() if provider.source is not None]


def create_source(name: str, options: SourceOptions) -> Source:
    """The harvest source of the provider ``name``, set up with ``options``.

    Raises:
        ConfigError: no provider has that name, or it cannot be harvested.
    """
    from stac_bridge.plugin import providers

    provider = providers().get(name)
    if provider is None or provider.source is None:
        raise ConfigError(f"no harvest source named {name!r}; known: {', '.join(list_sources())}")
    return provider.source(options)
