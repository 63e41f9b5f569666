"""The Capella stand-in server, and the real capella-console-client talking to it.

The client runs in a venv of its own (it pins httpx < 0.28, which clashes with ours), made once by
``tests/sdkvenv.py`` from the package index (``CAPELLA_CLIENT_PYTHON`` points at an existing Python instead);
without an index the test is skipped.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from stac_bridge.transforms import capella
from stac_bridge.transforms.capella_query import search_body_to_stac
from tests.capella.data import CLIENT, WINDOW, catalog, load
from tests.capella.standin import CapellaStandIn, serve
from tests.sdkvenv import run_sdk, sdk_python

Valid = Callable[[Any], dict[str, Any]]


@pytest.fixture
def standin() -> Iterator[CapellaStandIn]:
    with serve(CapellaStandIn(items=catalog(), user=load("user.json"), max_page_size=2)) as state:
        yield state


# --- the stand-in on its own ------------------------------------------------------------------------------

def test_refuses_requests_without_valid_credentials(standin: CapellaStandIn) -> None:
    assert httpx.get(f"{standin.base_url}/user").status_code == 401
    assert httpx.get(f"{standin.base_url}/user", headers={"Authorization": "ApiKey wrong"}).status_code == 401
    for header in ("ApiKey test-api-key", "Bearer test-token"):
        answer = httpx.get(f"{standin.base_url}/user", headers={"Authorization": header})
        assert answer.status_code == 200 and answer.json()["organizationId"] == "MOCK_ORG_ID"


def test_search_pages_with_number_matched_and_next_links(standin: CapellaStandIn) -> None:
    body = load("search_request_bodies_observed.json")[0] | {"bbox": [70.0, 30.0, 70.2, 30.2]}
    headers = {"Authorization": "ApiKey test-api-key"}
    first = httpx.post(f"{standin.base_url}/catalog/search", json=body, headers=headers).json()
    assert first["numberMatched"] == 5 and first["numberReturned"] == 2
    assert first["links"][0]["rel"] == "next"
    dates = [f["properties"]["datetime"] for f in first["features"]]
    assert dates == sorted(dates, reverse=True)
    last = httpx.post(first["links"][0]["href"], json=body | {"page": 3}, headers=headers).json()
    assert last["numberReturned"] == 1 and last["links"] == []


# --- the real client --------------------------------------------------------------------------------------

CLIENT_SCRIPT = """
import json, os, sys
from capella_console_client import CapellaConsoleClient
from capella_console_client.exceptions import AuthenticationError

url = os.environ["STANDIN_URL"]
out = {}
try:
    CapellaConsoleClient(api_key="wrong", base_url=url)
    out["bad_key"] = "accepted"
except AuthenticationError:
    out["bad_key"] = "refused"
out["whoami_token"] = CapellaConsoleClient(token="test-token", base_url=url).whoami()
client = CapellaConsoleClient(api_key="test-api-key", base_url=url)
result = client.search(
    bbox=[70.0, 30.0, 70.2, 30.2], collections=["capella-archive"], product_type=["SLC", "GEO"],
    datetime=os.environ["WINDOW"], sortby="-datetime", limit=10,
)
out["features"] = result.to_feature_collection()["features"]
out["task"] = client.create_tasking_request(
    geometry={"type": "Point", "coordinates": [-100.0, 40.0]}, name="probe", description="probe TR",
    window_open="2024-06-01T00:00:00Z", window_close="2024-06-08T00:00:00Z", collection_type="spotlight",
    off_nadir_min=25, off_nadir_max=40, product_types=["SLC", "GEO"],
)
out["tasks"] = client.search_tasking_requests(threaded=False).tasking_request_ids
print(json.dumps(out))
"""


def test_real_console_client_against_the_standin(standin: CapellaStandIn, assert_valid: Valid) -> None:
    python = sdk_python(*CLIENT)
    out = run_sdk(python, CLIENT_SCRIPT, env={"STANDIN_URL": standin.base_url, "WINDOW": WINDOW,
                                              "NO_PROXY": "127.0.0.1"}, timeout=120)

    assert out["bad_key"] == "refused"
    assert out["whoami_token"]["id"] == "MOCK_ID"

    # Paging: five matches at two per page, so the client POSTed pages 1 (no "page"), 2 and 3 to the next links.
    searches = standin.searches()
    assert [body.get("page") for body in searches] == [None, 2, 3]
    ids = [feature["id"] for feature in out["features"]]
    assert len(ids) == 5 and len(set(ids)) == 5
    dates = [feature["properties"]["datetime"] for feature in out["features"]]
    assert dates == sorted(dates, reverse=True)

    # Every body the client sent translates to a STAC API search.
    for body in searches:
        translated = search_body_to_stac(body)
        assert translated.body["datetime"] == WINDOW
        assert translated.body["filter"] == {"op": "in", "args": [{"property": "sar:product_type"}, ["SLC", "GEO"]]}

    # What the client received transforms to valid STAC and back, exactly.
    for feature in out["features"]:
        stac = capella.item_to_stac(feature)
        assert_valid(stac)
        assert capella.stac_to_item(stac) == feature

    # The tasking request the client built, and the answer it got, both make valid Items and come back.
    posted = next(body for method, path, body in standin.requests if path == "/task")
    assert posted["properties"]["collectConstraints"]["offNadirMax"] == 40
    for request in (posted, out["task"]):
        item = capella.tasking_request_to_stac(request)
        stac = assert_valid(item)
        assert stac["properties"]["start_datetime"] == "2024-06-01T00:00:00.000Z"  # Capella's spelling, valid RFC 3339
        assert capella.stac_to_tasking_request(item) == request
    assert capella.tasking_request_to_stac(out["task"]).id == out["task"]["properties"]["taskingrequestId"]
    assert as_status(out["task"]) == "received"

    # The client lists the user's tasking requests through POST /tasks/search, as the harvester does.
    assert out["tasks"] == [out["task"]["properties"]["taskingrequestId"]]
    listing = next(path for method, path, body in standin.requests if path.startswith("/tasks/search"))
    assert "page=1" in listing and "limit=250" in listing


def as_status(task: dict[str, Any]) -> str:
    return str(capella.tasking_request_to_stac(task).properties["order:status"])
