"""Page links of offset-paged HTTP answers (OGC 17-047r1's ``startIndex``): an HTTP detail, not a transform's."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final
from urllib.parse import urlencode

__all__ = ["START_INDEX", "page_links"]

#: The 1-based offset parameter of OGC 17-047r1 (OpenSearch) requests.
START_INDEX: Final = "startIndex"


def page_links(
    href: str, params: Sequence[tuple[str, str]], *, start: int, count: int, total: int, media_type: str
) -> dict[str, list[dict[str, str]]]:
    """The ``first``/``last``/``next``/``previous`` links of one page of an OGC 17-047r1 answer.

    Each is absolute and carries every parameter of the request with its own ``startIndex``, which is what
    terracatalogueclient follows. ``last`` is aligned on this request's pages (``start``, ``start + count``...).

    Args:
        href: The endpoint's absolute URL, without a query.
        params: The request's parameters, in order (``startIndex`` among them or not).
        start: The request's 1-based ``startIndex``.
        count: Results per page (at least 1).
        total: ``totalResults``.
        media_type: The ``type`` of each link.
    """
    kept = [(k, v) for k, v in params if k != START_INDEX]

    def link(index: int, rel: str) -> list[dict[str, str]]:
        return [{"href": f"{href}?{urlencode([*kept, (START_INDEX, str(index))])}", "type": media_type,
                 "title": rel}]

    last = start + (total - start) // count * count if total >= start else 1 + max(total - 1, 0) // count * count
    links = {"first": link(1, "first"), "last": link(last, "last")}
    if start + count <= total:
        links["next"] = link(start + count, "next")
    if start > 1:
        links["previous"] = link(max(1, start - count), "previous")
    return links
