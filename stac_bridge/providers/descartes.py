"""Descartes Labs Catalog: products, bands and images (v1 and v2), harvested from its API."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from stac_bridge.errors import ConfigError, UntranslatableQueryError
from stac_bridge.plugin import Provider, QueryTranslator
from stac_bridge.registry import Kind
from stac_bridge.search import Search

if TYPE_CHECKING:
    from stac_bridge.plugin import Adapter, Source, SourceOptions

NAME: Final = "descartes"


def _adapter() -> Adapter:
    from stac_bridge.transforms.descartes import ADAPTER

    return ADAPTER


def _source(options: SourceOptions) -> Source:
    from stac_bridge.harvest.descartes import create

    return create(options)


def _image_filter(body: Mapping[str, Any]) -> dict[str, Any]:
    """A STAC search (collections, bbox, datetime; ``max_cloud_cover`` in percent beside them) as DL's image filter.

    Raises:
        UntranslatableQueryError: a member an image filter cannot say, or a malformed one.
    """
    from stac_bridge.harvest.descartes import ImageFilter

    search = Search.from_body(body, provider=NAME)
    for part, value in (("ids", search.ids), ("intersects", search.intersects), ("filter", search.filter),
                        *((k, v) for k, v in search.extra.items() if k != "max_cloud_cover")):
        if value:
            raise UntranslatableQueryError(NAME, part, "has no Descartes Labs image filter equivalent")
    try:
        images = ImageFilter.from_stac(search.bbox, str(search.datetime) if search.datetime else None,
                                       search.extra.get("max_cloud_cover"))
    except ConfigError as exc:
        raise UntranslatableQueryError(NAME, "search", str(exc)) from exc
    return {"products": list(search.collections), **dataclasses.asdict(images)}


PROVIDER: Final = Provider(
    name=NAME,
    title="Descartes Labs Catalog",
    adapter=_adapter,
    kinds=(Kind.PRODUCT, Kind.BAND, Kind.IMAGE),
    source=_source,
    query=QueryTranslator(from_stac=_image_filter),
)
