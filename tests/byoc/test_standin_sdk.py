"""The real sentinelhub SDK against the stand-in BYOC server: auth, paging, errors, 429s; then the transforms."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from stac_bridge.transforms import byoc
from tests.byoc.data import COLLECTION_ID, COLLECTIONS, TILES
from tests.byoc.standin import StandIn

sentinelhub = pytest.importorskip("sentinelhub")


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch) -> Iterator[StandIn]:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # the SDK's OAuth refuses plain http otherwise
    with StandIn(COLLECTIONS, {COLLECTION_ID: TILES}, page_size=1) as standin:
        yield standin


def sdk(server: StandIn) -> Any:
    config = sentinelhub.SHConfig(
        sh_client_id="stand-in-client", sh_client_secret="stand-in-secret",
        sh_base_url=server.url, sh_token_url=f"{server.url}/oauth/token", max_download_attempts=1,
    )
    return sentinelhub.SentinelHubBYOC(config=config)


def test_sdk_pages_through_collections_and_tiles(server: StandIn, assert_valid: Callable[[Any], Any]) -> None:
    api = sdk(server)
    collections = list(api.iter_collections())
    assert collections == COLLECTIONS
    pages = [target for _, target in server.requests if target.split("?")[0] == "/api/v1/byoc/collections"]
    assert len(pages) == 2 and "viewtoken" not in pages[0] and "viewtoken=1" in pages[1]
    assert server.requests[0][0] == "POST" and server.requests[0][1] == "/oauth/token"

    tiles = list(api.iter_tiles(COLLECTION_ID, sort="created:desc"))
    assert sorted(t["id"] for t in tiles) == sorted(t["id"] for t in TILES)
    collection = api.get_collection(COLLECTION_ID)
    for tile in tiles:
        item = byoc.tile_to_stac(sentinelhub.ByocTile.from_dict(tile), collection)
        assert_valid(item)
        assert item.collection_id == f"byoc-{COLLECTION_ID}"
    assert byoc.stac_to_tile(byoc.tile_to_stac(api.get_tile(COLLECTION_ID, TILES[0]["id"]), collection)) == TILES[0]


def test_sdk_waits_out_a_429_and_reports_a_404(server: StandIn) -> None:
    api = sdk(server)
    server.fail_next(429)
    with pytest.warns(sentinelhub.exceptions.SHRateLimitWarning):
        assert api.get_collection(COLLECTION_ID) == COLLECTIONS[0]
    statuses = [target for _, target in server.requests if target.endswith(COLLECTION_ID)]
    assert len(statuses) == 2  # the 429, then the retry
    with pytest.raises(sentinelhub.exceptions.DownloadFailedException, match="404"):
        api.get_collection("00000000-0000-0000-0000-00000000dead")
