"""The plug-in surface: one :class:`Provider` declaration per provider, found through one entry-point group.

A provider (built in or a third party's) is a distribution that declares, in its ``pyproject.toml``::

    [project.entry-points."stac_bridge.providers"]
    myprovider = "my_package.provider:PROVIDER"

where ``PROVIDER`` is a :class:`Provider`: its adapter (the transforms, both ways), its harvest source factory,
its query translator, its provider-compatible endpoint and its queryables, each optional but the adapter. The
CLI (``convert``, ``export``, ``harvest``, ``providers``), the harvest engine and the server all find
providers here and nowhere else; the built-ins register the same way (this package's own ``pyproject.toml``).
A declaration refers to its modules through factories, so that listing the providers imports none of them.

This module is the only one that loads code by name (:func:`importlib.metadata.entry_points`).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, Final

from stac_bridge.errors import ConfigError

if TYPE_CHECKING:  # also the names a declaration's factories are typed with (imported from here)
    from fastapi import APIRouter as APIRouter

    from stac_bridge.harvest import SourceOptions as SourceOptions
    from stac_bridge.harvest.engine import Source as Source
    from stac_bridge.registry import Adapter as Adapter
    from stac_bridge.server.settings import ServerSettings as ServerSettings

__all__ = ["ENTRY_POINT_GROUP", "Endpoint", "Provider", "QueryTranslator", "get_provider", "providers"]

log = logging.getLogger(__name__)

#: The one entry-point group of providers.
ENTRY_POINT_GROUP: Final = "stac_bridge.providers"

#: A search in the STAC API's terms: a STAC item search body (``collections``, ``bbox``, ``datetime``,
#: ``ids``, ``intersects``, ``limit``, ``filter`` in CQL2 JSON).
StacSearchBody = dict[str, Any]


@dataclass(frozen=True)
class QueryTranslator:
    """A provider's query language to and from a STAC item search; either direction may be absent.

    Both raise :class:`~stac_bridge.errors.UntranslatableQueryError` naming the part that cannot be said in
    the other language (nothing is silently widened or dropped).

    Attributes:
        to_stac: The provider's query (its parameters or body, as a mapping) to a STAC search body.
        from_stac: A STAC search body to the provider's query.
    """

    to_stac: Callable[[Mapping[str, Any]], StacSearchBody] | None = None
    from_stac: Callable[[Mapping[str, Any]], dict[str, Any]] | None = None

    def directions(self) -> list[str]:
        """``"to STAC"`` and/or ``"from STAC"``, as declared."""
        return [name for name, fn in (("to STAC", self.to_stac), ("from STAC", self.from_stac)) if fn is not None]


@dataclass(frozen=True)
class Endpoint:
    """A provider-compatible API over the unified catalog, mounted by the server.

    Attributes:
        prefix: Where it is mounted, e.g. ``"/capella"``.
        create_router: Builds its routes from the server's settings.
        read_only_posts: Its POST routes that only read (below ``prefix``): open without the API key.
    """

    prefix: str
    create_router: Callable[[ServerSettings], APIRouter]
    read_only_posts: frozenset[str] = frozenset()

    def open_posts(self) -> frozenset[str]:
        """:attr:`read_only_posts` with the prefix."""
        return frozenset(self.prefix + path for path in self.read_only_posts)


@dataclass(frozen=True)
class Provider:
    """Everything stac-bridge knows of one provider.

    Attributes:
        name: The key on the command line (``stac-bridge harvest <name>``), and the prefix of the provider's
            own STAC fields (``byoc:``).
        title: A human name for listings.
        adapter: Returns the :class:`~stac_bridge.registry.Adapter` (the transforms both ways, record kinds,
            the ``link`` and ``export_records`` hooks).
        kinds: The kinds of record the adapter reads (:class:`~stac_bridge.registry.Kind` values or the
            provider's own), for listings.
        source: Builds the harvest :class:`~stac_bridge.harvest.engine.Source` from the command line's
            :class:`~stac_bridge.harvest.SourceOptions`; ``None`` when the provider cannot be harvested.
        query: Its query translator, or ``None``.
        endpoint: Its provider-compatible endpoint, or ``None``.
        queryables: Returns the JSON Schema of the STAC properties its records are searchable by, or ``None``.
    """

    name: str
    title: str
    adapter: Callable[[], Adapter]
    kinds: tuple[str, ...] = ()
    source: Callable[[SourceOptions], Source] | None = None
    query: QueryTranslator | None = None
    endpoint: Endpoint | None = None
    queryables: Callable[[], Mapping[str, Any]] | None = None

    def capabilities(self) -> list[str]:
        """What it can do, in words: ``convert``, ``export``, ``harvest``, the query directions, the endpoint."""
        can = ["convert", "export"]
        if self.source is not None:
            can.append("harvest")
        if self.query is not None:
            can.extend(f"query {d}" for d in self.query.directions())
        if self.endpoint is not None:
            can.append(f"endpoint {self.endpoint.prefix}")
        if self.queryables is not None:
            can.append("queryables")
        return can


@functools.cache
def providers() -> dict[str, Provider]:
    """Every installed provider by name, built-ins included (loaded once per process).

    Raises:
        ConfigError: none is installed (the package's metadata is missing: reinstall it), or an entry point
            does not name a :class:`Provider`, or two name the same provider.
    """
    found: dict[str, Provider] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        try:
            declared: Any = ep.load()
        except Exception as exc:  # a broken third-party package must say which one it is
            raise ConfigError(f"provider {ep.name!r} could not be loaded from {ep.value}: {exc}") from exc
        if not isinstance(declared, Provider):
            raise ConfigError(f"provider {ep.name!r} from {ep.value} is a {type(declared).__name__}, "
                              "not a stac_bridge.plugin.Provider")
        if declared.name != ep.name:
            raise ConfigError(f"provider {ep.name!r} from {ep.value} declares the name {declared.name!r}")
        if ep.name in found:
            raise ConfigError(f"two packages declare the provider {ep.name!r} ({ep.value} is the second)")
        found[ep.name] = declared
    if not found:
        raise ConfigError(f"no providers are installed under the entry-point group {ENTRY_POINT_GROUP!r}: "
                          "reinstall stac-bridge (pip install -e .) so that its metadata is written")
    return dict(sorted(found.items()))


def get_provider(name: str) -> Provider:
    """The provider ``name``.

    Raises:
        ConfigError: no provider has that name.
    """
    known = providers()
    if name not in known:
        raise ConfigError(f"no provider named {name!r}; installed: {', '.join(known)}")
    return known[name]
