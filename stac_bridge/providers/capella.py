"""Capella Space: catalog items, collections and tasking requests, harvested and served at /capella."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from stac_bridge.plugin import Endpoint, Provider, QueryTranslator
from stac_bridge.providers import catalog_queryables
from stac_bridge.registry import Kind

if TYPE_CHECKING:
    from stac_bridge.plugin import Adapter, APIRouter, ServerSettings, Source, SourceOptions


def _adapter() -> Adapter:
    from stac_bridge.transforms.capella import ADAPTER

    return ADAPTER


def _source(options: SourceOptions) -> Source:
    from stac_bridge.harvest.capella import create

    return create(options)


def _router(settings: ServerSettings) -> APIRouter:
    from stac_bridge.server.capella import create_router

    return create_router(settings)


def _to_stac(body: Mapping[str, Any]) -> dict[str, Any]:
    from stac_bridge.transforms.capella_query import search_body_to_stac

    return search_body_to_stac(body).body


def _from_stac(search: Mapping[str, Any]) -> dict[str, Any]:
    from stac_bridge.transforms.capella_query import stac_to_search_body

    return stac_to_search_body(search)


def _queryables() -> Mapping[str, Any]:
    return catalog_queryables("sar:product_type", "sar:instrument_mode", "view:incidence_angle",
                              "sat:orbit_state", "constellation", "platform")


PROVIDER: Final = Provider(
    name="capella",
    title="Capella Space",
    adapter=_adapter,
    kinds=(Kind.COLLECTION, Kind.ITEM, Kind.TASKING),
    source=_source,
    query=QueryTranslator(to_stac=_to_stac, from_stac=_from_stac),
    endpoint=Endpoint("/capella", _router, read_only_posts=frozenset({"/catalog/search"})),
    queryables=_queryables,
)
