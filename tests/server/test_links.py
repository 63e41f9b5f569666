"""The API's item links are stac-fastapi-pgstac's, the same hrefs in the same order, whatever the ids hold."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from stac_fastapi.pgstac.models import links as stock
from starlette.requests import Request

from stac_bridge.server.speed import ItemLinks

IDS = ["plain", "urn:eop:VITO:TERRASCOPE_S2_TOC_V2", "5d6a:my-product", "with space", "a?b", "a#b", ".", "..",
       "a/../b", "/lead", "x:y/z", "ünï", "50%", "a;b", "http://example.com/x"]


def request(method: str = "GET", root_path: str = "", prefix: str = "") -> Request:
    scope: dict[str, Any] = {
        "type": "http", "method": method, "scheme": "http", "server": ("testserver", 80), "path": f"{root_path}/search",
        "root_path": root_path, "query_string": b"", "headers": [(b"host", b"testserver")],
        "app": SimpleNamespace(state=SimpleNamespace(router_prefix=prefix)),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    return Request(scope, receive)


@pytest.mark.parametrize("root_path", ["", "/stac"])
@pytest.mark.parametrize("collection_id", IDS)
def test_item_links_are_stocks(collection_id: str, root_path: str) -> None:
    extra = [{"rel": "license", "href": "https://example.com/licence"}, {"rel": "alternate", "href": "../x.json"},
             {"rel": "self", "href": "ignored"}]
    for item_id in IDS:
        for method in ("GET", "POST"):
            theirs = asyncio.run(stock.ItemLinks(collection_id=collection_id, item_id=item_id,
                                                 request=request(method, root_path)).get_links(extra_links=extra))
            ours = asyncio.run(ItemLinks(collection_id=collection_id, item_id=item_id,
                                         request=request(method, root_path)).get_links(extra_links=extra))
            assert ours == theirs, (collection_id, item_id)


def test_the_api_makes_its_item_links_with_ours() -> None:
    from stac_fastapi.pgstac import core

    from stac_bridge.server.app import create_app
    from stac_bridge.server.settings import ServerSettings

    create_app(ServerSettings(), database_url="postgresql://nobody@127.0.0.1:1/none")
    assert core.ItemLinks is ItemLinks
