"""Sentinel Hub BYOC: collections and tiles, harvested from the BYOC API."""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from stac_bridge.plugin import Provider
from stac_bridge.registry import Kind

if TYPE_CHECKING:
    from stac_bridge.plugin import Adapter, Source, SourceOptions


def _adapter() -> Adapter:
    from stac_bridge.transforms.byoc import ADAPTER

    return ADAPTER


def _source(options: SourceOptions) -> Source:
    from stac_bridge.harvest.byoc import create

    return create(options)


PROVIDER: Final = Provider(
    name="byoc",
    title="Sentinel Hub BYOC",
    adapter=_adapter,
    kinds=(Kind.COLLECTION, Kind.TILE),
    source=_source,
)
