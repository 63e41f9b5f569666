"""The API's links are stac-fastapi-pgstac's, the same hrefs in the same order, whatever the ids hold."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from stac_fastapi.pgstac.models import links as stock
from starlette.requests import Request

from stac_bridge.server.speed import FAST_LINKS, ItemLinks

IDS = ["plain", "urn:eop:VITO:TERRASCOPE_S2_TOC_V2", "5d6a:my-product", "with space", "a?b", "a#b", ".", "..",
       "a/../b", "/lead", "x:y/z", "ünï", "50%", "a;b", "http://example.com/x"]


def request(method: str = "GET", root_path: str = "", prefix: str = "", query: bytes = b"") -> Request:
    scope: dict[str, Any] = {
        "type": "http", "method": method, "scheme": "http", "server": ("testserver", 80), "path": f"{root_path}/search",
        "root_path": root_path, "query_string": query, "headers": [(b"host", b"testserver")],
        "app": SimpleNamespace(state=SimpleNamespace(router_prefix=prefix)),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}", "more_body": False}

    return Request(scope, receive)


def links_of(cls: type, req: Request, **fields: Any) -> list[dict[str, Any]]:
    made: list[dict[str, Any]] = asyncio.run(cls(request=req, **fields).get_links(extra_links=EXTRA))
    return made


EXTRA = [{"rel": "license", "href": "https://example.com/licence"}, {"rel": "alternate", "href": "../x.json"},
         {"rel": "self", "href": "ignored"}, {"rel": "next", "href": "http://testserver/search?token=next:x"}]


@pytest.mark.parametrize("root_path", ["", "/stac"])
@pytest.mark.parametrize("collection_id", IDS)
def test_item_links_are_stocks(collection_id: str, root_path: str) -> None:
    for item_id in IDS:
        for method in ("GET", "POST"):
            theirs = links_of(stock.ItemLinks, request(method, root_path), collection_id=collection_id, item_id=item_id)
            ours = links_of(ItemLinks, request(method, root_path), collection_id=collection_id, item_id=item_id)
            assert ours == theirs, (collection_id, item_id)


def test_the_api_makes_its_item_links_with_ours() -> None:
    from stac_fastapi.pgstac import core

    from stac_bridge.server.app import create_app
    from stac_bridge.server.settings import ServerSettings

    create_app(ServerSettings(), database_url="postgresql://nobody@127.0.0.1:1/none")
    for name, cls in FAST_LINKS.items():
        assert getattr(core, name) is cls, name
        assert issubclass(cls, getattr(stock, name))


@pytest.mark.parametrize("method", ["GET", "POST"])
@pytest.mark.parametrize("root_path", ["", "/stac"])
def test_answer_links_are_stocks(method: str, root_path: str) -> None:
    """The links of collections, item collections and search pages, with and without paging tokens."""
    cases: list[tuple[str, dict[str, Any]]] = [
        ("SearchLinks", {}),
        ("PagingLinks", {}),
        ("PagingLinks", {"next": "abc", "prev": "def"}),
        ("CollectionSearchPagingLinks", {"next": {"body": {"offset": 10, "limit": 10}},
                                         "prev": {"body": {"offset": 0, "limit": 10}}}),
    ]
    cases += [(name, {"collection_id": c}) for name in ("CollectionLinks", "ItemCollectionLinks") for c in IDS]
    for name, fields in cases:
        for query in (b"", b"limit=10&bbox=1,2,3,4"):
            theirs = links_of(getattr(stock, name), request(method, root_path, query=query), **fields)
            ours = links_of(FAST_LINKS[name], request(method, root_path, query=query), **fields)
            assert ours == theirs, (name, fields, query)
