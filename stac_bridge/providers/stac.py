"""Any STAC API: Items and Collections passed through, harvested by STAC API item search."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, Final

from stac_bridge.plugin import Provider, QueryTranslator
from stac_bridge.registry import Kind

if TYPE_CHECKING:
    from stac_bridge.plugin import Adapter, Source, SourceOptions


def _adapter() -> Adapter:
    from stac_bridge.transforms.stac import ADAPTER

    return ADAPTER


def _source(options: SourceOptions) -> Source:
    from stac_bridge.harvest.stac import create

    return create(options)


def _same(search: Mapping[str, Any]) -> dict[str, Any]:
    return copy.deepcopy(dict(search))


PROVIDER: Final = Provider(
    name="stac",
    title="Any STAC API",
    adapter=_adapter,
    kinds=(Kind.COLLECTION, Kind.ITEM),
    source=_source,
    query=QueryTranslator(to_stac=_same, from_stac=_same),
)
