"""pystac-client, as its users script the catalog: conformance, fields, CQL2 text over POST, ``matched()``."""

from __future__ import annotations

import warnings
from collections.abc import Iterator

import pytest
from pystac_client import Client
from pystac_client.conformance import ConformanceClasses

from tests.conftest import RunningServer
from tests.tools.demo import collection_ids, demo_api, search_ids

pytestmark = [pytest.mark.db, pytest.mark.server]

COLLECTION = "stac-bridge-demo"
#: Every class pystac-client knows that the API advertises (transactions are off; context is deprecated).
ADVERTISED = [c for c in ConformanceClasses if c not in (ConformanceClasses.TRANSACTION, ConformanceClasses.CONTEXT)]


@pytest.fixture(scope="module")
def api(pgstac_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with demo_api(pgstac_server_url, tmp_path_factory.mktemp("demo")) as running:
        yield running


@pytest.fixture(scope="module")
def client(api: RunningServer) -> Client:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a DoesNotConformTo or a missing link warns
        return Client.open(api.url)


@pytest.mark.parametrize("conformance", ADVERTISED, ids=lambda c: c.name)
def test_conforms_to(client: Client, conformance: ConformanceClasses) -> None:
    assert client.conforms_to(conformance), f"pystac-client does not find {conformance.name} in conformsTo"


def test_search_with_fields_gives_items(client: Client) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        items = list(client.search(collections=[COLLECTION], fields=["properties.eo:cloud_cover"],
                                   max_items=20).items())
    assert len(items) == 20
    for item in items:
        assert set(item.properties) == {"datetime", "eo:cloud_cover"}
        assert item.geometry and item.bbox and item.collection_id == COLLECTION


def test_cql2_text_over_post(client: Client) -> None:
    expected = sorted(i.id for i in client.search(collections=[COLLECTION]).items()
                      if i.properties["eo:cloud_cover"] < 10)
    search = client.search(collections=[COLLECTION], filter='"eo:cloud_cover" < 10', filter_lang="cql2-text",
                           method="POST")
    assert expected and sorted(i.id for i in search.items()) == expected
    assert search.matched() == len(expected)


def test_matched_equals_the_items(client: Client, api: RunningServer) -> None:
    for cid in collection_ids(api):
        search = client.search(collections=[cid], limit=7)
        ids = [i.id for i in search.items()]
        assert search.matched() == len(ids) == len(search_ids(api, cid)), cid


def test_collections_and_their_items(client: Client, api: RunningServer) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        collections = {c.id: c for c in client.get_collections()}
        assert sorted(collections) == sorted(collection_ids(api))
        for cid, collection in collections.items():
            assert collection.title, f"{cid} has no title"
            assert sorted(i.id for i in collection.get_items()) == sorted(search_ids(api, cid))


def test_sort_and_3d_bbox(client: Client) -> None:
    flat = sorted(i.id for i in client.search(bbox=[6, 45, 8, 46]).items())
    assert flat and sorted(i.id for i in client.search(bbox=[6, 45, 0, 8, 46, 1000]).items()) == flat
    times = [i.properties["datetime"] for i in client.search(collections=[COLLECTION], sortby="-properties.datetime",
                                                              max_items=30).items()]
    assert times == sorted(times, reverse=True)
