"""Terrascope / VITO OpenSearch (OGC 17-047r1): collections and products, harvested and served at /opensearch."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from stac_bridge.plugin import Endpoint, Provider, QueryTranslator
from stac_bridge.providers import catalog_queryables
from stac_bridge.registry import Kind

if TYPE_CHECKING:
    from stac_bridge.plugin import Adapter, APIRouter, ServerSettings, Source, SourceOptions


def _adapter() -> Adapter:
    from stac_bridge.transforms.opensearch import ADAPTER

    return ADAPTER


def _source(options: SourceOptions) -> Source:
    from stac_bridge.harvest.opensearch import create

    return create(options)


def _router(settings: ServerSettings) -> APIRouter:
    from stac_bridge.server.opensearch import create_router

    return create_router(settings)


def _to_stac(params: Mapping[str, Any]) -> dict[str, Any]:
    from stac_bridge.transforms.opensearch_query import opensearch_to_stac

    return opensearch_to_stac(params).body


def _from_stac(search: Mapping[str, Any]) -> dict[str, Any]:
    from stac_bridge.transforms.opensearch_query import stac_to_opensearch

    return dict(stac_to_opensearch(search))


def _queryables() -> Mapping[str, Any]:
    return catalog_queryables("eo:cloud_cover", "sat:relative_orbit", "sat:orbit_state", "product:type",
                              "grid:code")


PROVIDER: Final = Provider(
    name="opensearch",
    title="Terrascope OpenSearch (OGC 17-047r1)",
    adapter=_adapter,
    kinds=(Kind.COLLECTION, Kind.PRODUCT),
    source=_source,
    query=QueryTranslator(to_stac=_to_stac, from_stac=_from_stac),
    endpoint=Endpoint("/opensearch", _router),
    queryables=_queryables,
)
