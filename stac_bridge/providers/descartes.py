"""Descartes Labs Catalog: products, bands and images (v1 and v2), harvested from its API."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from stac_bridge.errors import ConfigError, UntranslatableQueryError
from stac_bridge.plugin import Provider, QueryTranslator
from stac_bridge.registry import Kind

if TYPE_CHECKING:
    from stac_bridge.harvest import SourceOptions
    from stac_bridge.harvest.engine import Source
    from stac_bridge.registry import Adapter

#: The parts of a STAC search an image filter can say.
_TRANSLATED: Final = frozenset({"bbox", "datetime", "collections", "max_cloud_cover"})


def _adapter() -> Adapter:
    from stac_bridge.transforms.descartes import ADAPTER

    return ADAPTER


def _source(options: SourceOptions) -> Source:
    from stac_bridge.harvest.descartes import create

    return create(options)


def _image_filter(search: Mapping[str, Any]) -> dict[str, Any]:
    """A STAC search (``bbox``, ``datetime``, ``collections``; ``max_cloud_cover`` in percent) as DL's image filter.

    Raises:
        UntranslatableQueryError: a member an image filter cannot say, or a malformed one.
    """
    from stac_bridge.harvest.descartes import ImageFilter

    for part in search:
        if part not in _TRANSLATED:
            raise UntranslatableQueryError("descartes", part, "has no Descartes Labs image filter equivalent")
    try:
        images = ImageFilter.from_stac(search.get("bbox"), search.get("datetime"), search.get("max_cloud_cover"))
    except ConfigError as exc:
        raise UntranslatableQueryError("descartes", "search", str(exc)) from exc
    return {"products": list(search.get("collections") or []), **dataclasses.asdict(images)}


PROVIDER: Final = Provider(
    name="descartes",
    title="Descartes Labs Catalog",
    adapter=_adapter,
    kinds=(Kind.PRODUCT, Kind.BAND, Kind.IMAGE),
    source=_source,
    query=QueryTranslator(from_stac=_image_filter),
)
