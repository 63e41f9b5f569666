"""The Acme provider's one declaration, registered under the ``stac_bridge.providers`` entry point."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from acme_provider import query
from stac_bridge.plugin import Endpoint, Provider, QueryTranslator
from stac_bridge.registry import Kind

if TYPE_CHECKING:
    from fastapi import APIRouter

    from stac_bridge.harvest import SourceOptions
    from stac_bridge.harvest.engine import Source
    from stac_bridge.registry import Adapter
    from stac_bridge.server.settings import ServerSettings


def _adapter() -> Adapter:
    from acme_provider.adapter import ADAPTER

    return ADAPTER


def _source(options: SourceOptions) -> Source:
    from acme_provider.source import create

    return create(options)


def _router(settings: ServerSettings) -> APIRouter:
    from acme_provider.endpoint import create_router

    return create_router(settings)


def _queryables() -> Mapping[str, Any]:
    return {"type": "object", "properties": {
        "eo:cloud_cover": {"title": "Cloud cover (%)", "type": "number", "minimum": 0, "maximum": 100},
        "acme:sensor": {"title": "Acme sensor", "type": "string", "enum": ["A1", "A2"]},
    }}


PROVIDER = Provider(
    name="acme",
    title="Acme Imaging",
    adapter=_adapter,
    kinds=(Kind.COLLECTION, "scene"),
    source=_source,
    query=QueryTranslator(to_stac=query.to_stac, from_stac=query.from_stac),
    endpoint=Endpoint("/acme", _router),
    queryables=_queryables,
)
