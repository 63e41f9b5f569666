"""stac-api-validator 0.6.8, the STAC API's own conformance tool, on the demo catalog, offline.

The validator runs in a venv of its own (its pins are not ours), with the schemas it fetches served from
127.0.0.1 (``../shared/stac-schemas``, else the package's shipped schemas) and every other host refused
(``tests/tools/offline/sitecustomize.py``). It is judged by its error lines: each must be one of the validator's
own faults listed below, with the evidence; the areas those faults keep it from checking get tests of ours here.
"""

from __future__ import annotations

import functools
import http.server
import json
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import ROOT, SCHEMA_DIR, RunningServer
from tests.sdkvenv import run_sdk, sdk_python
from tests.tools.demo import demo_api

# The first run installs the tool (apt, a venv): more than the suite's 300 s.
pytestmark = [pytest.mark.db, pytest.mark.server, pytest.mark.timeout(1200)]

OFFLINE = Path(__file__).resolve().parent / "offline"
COLLECTION = "stac-bridge-demo"
CONFORMANCE = (
    "core", "browseable", "collections", "features", "item-search", "filter",
    "item-search#sort", "item-search#fields", "item-search#query",
    "features#sort", "features#fields", "features#query",
)
#: The demo collection's values the query checks use (``examples/demo/stac/items.ndjson``).
QUERY_OPTIONS = {
    "--query-comparison-field": "eo:cloud_cover", "--query-eq-value": "22", "--query-neq-value": "22",
    "--query-lt-value": "30", "--query-lte-value": "30", "--query-gt-value": "10", "--query-gte-value": "10",
    "--query-substring-field": "platform", "--query-starts-with-value": "demo",
    "--query-ends-with-value": "sat-1", "--query-contains-value": "sat",
    "--query-in-field": "platform", "--query-in-values": "demo-sat-1,demo-sat-2",
    "--fields-nested-property": "properties.eo:cloud_cover",
}

#: The validator's own faults: (pattern of its error line, the evidence). Each area gets a test of ours below.
VALIDATOR_FAULTS: list[tuple[str, str]] = [
    (r'POST \S+/search params=None body=\{.*"collections": "[^"]+"\} had unexpected status code 400 instead of 200',
     "its POST sort and query checks send `collections` as a string; the item-search specification makes it an "
     "array of strings (its GET twins, which send the same values, pass): test_post_sort, test_post_query"),
    (r'POST \S+/search params=None body=\{"fields": null\} had unexpected status code 200 instead of 400',
     "nothing in the fields extension makes `fields: null` an error; its rule 1 reads null members as the default "
     "set, and pystac-client serialises an absent member as null: test_fields_default_set"),
    (r"response contained more than 5 extra fields",
     "fields rule 2: `include` is added to the default set (id, type, geometry, bbox, links, assets, "
     "properties.datetime: already 7 members), so an Item answering `include: [x]` always has more than 5; "
     "pystac-client needs that default set to read Items: test_fields_default_set"),
    (r"\{'fields': \{'exclude': \['geometry'\], 'include': (\[\]|None)\}\} response contained "
     r"'properties\.eo:cloud_cover', but should have been excluded",
     "it contradicts its own previous check: `{exclude: [geometry]}` must keep properties.eo:cloud_cover (that "
     "check passes), and the specification does not tell an absent `include` from an empty or null one: "
     "test_fields_exclude_only"),
    (r"-properties,\+properties\.eo:cloud_cover'? response contained 'geometry', but should have been excluded|"
     r"'exclude': \['properties'\], 'include': \['properties\.eo:cloud_cover'\]\}\} response contained 'geometry'",
     "geometry is in the default set and was never excluded (fields rule 4: included and not excluded): "
     "test_fields_include_and_exclude"),
    (r"""Query '\{"platform": \{"in": \[[^]]*\]\}\}' had non-matching results""",
     "its `in` check tests `set(value).isdisjoint(...)`, which for a string property is the set of its "
     "characters; the results it prints are all in the list: test_post_query"),
]


@pytest.fixture(scope="module")
def api(pgstac_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with demo_api(pgstac_server_url, tmp_path_factory.mktemp("demo")) as running:
        yield running


def _schema_dir() -> Path | None:
    shipped = ROOT / "stac_bridge" / "schemas"
    for candidate in (SCHEMA_DIR, shipped):
        if candidate is not None and (candidate / "index.json").is_file():
            return candidate
    return None


@pytest.fixture(scope="module")
def schema_mirror() -> Iterator[tuple[str, str]]:
    """The schema directory served on 127.0.0.1: (its URL, the hosts it mirrors)."""
    directory = _schema_dir()
    if directory is None:
        pytest.skip("no STAC schemas to validate offline: neither ../shared/stac-schemas nor stac_bridge/schemas")
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hosts = ",".join(p.name for p in directory.iterdir() if p.is_dir())
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hosts
    finally:
        server.shutdown()


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


_RUN = """
import subprocess, sys, json
done = subprocess.run([sys.executable, "-m", "stac_api_validator.__main__", *sys.argv[1:]],
                      capture_output=True, text=True)
print(json.dumps({"code": done.returncode, "out": done.stdout, "err": done.stderr}))
"""


@pytest.fixture(scope="module")
def validator_output(api: RunningServer, schema_mirror: tuple[str, str]) -> dict[str, Any]:
    python = sdk_python("stac-api-validator", ["stac-api-validator==0.6.8"])
    mirror, hosts = schema_mirror
    args = ["--root-url", f"{api.url}/", "--collection", COLLECTION]
    for name in CONFORMANCE:
        args += ["--conformance", name]
    for option, value in QUERY_OPTIONS.items():
        args += [option, value]
    env = {"PYTHONPATH": str(OFFLINE), "STAC_BRIDGE_SCHEMA_MIRROR": mirror, "STAC_BRIDGE_SCHEMA_HOSTS": hosts}
    result: dict[str, Any] = run_sdk(python, _RUN, *args, env=env, timeout=600)
    return result


def _errors(output: str) -> list[str]:
    _, found, tail = output.partition("\nErrors:")
    assert found, f"the validator did not get to its summary:\n{output[-3000:]}"
    return [line[2:] for line in tail.splitlines() if line.startswith("- ")]


def test_validator_shows_no_fault_of_the_server(validator_output: dict[str, Any]) -> None:
    output = validator_output["out"] + validator_output["err"]
    assert "Traceback" not in output, f"the validator crashed:\n{output[-4000:]}"
    unexplained = [e for e in _errors(validator_output["out"])
                   if not any(re.search(pattern, e) for pattern, _ in VALIDATOR_FAULTS)]
    assert not unexplained, "stac-api-validator errors that are not its own known faults:\n" + "\n".join(unexplained)


def test_every_listed_validator_fault_still_occurs(validator_output: dict[str, Any]) -> None:
    # A fault that no longer shows (a fixed validator) is taken off the list, so that the list stays the truth.
    errors = _errors(validator_output["out"])
    stale = [reason for pattern, reason in VALIDATOR_FAULTS if not any(re.search(pattern, e) for e in errors)]
    assert not stale, "listed validator faults that it no longer shows:\n" + "\n".join(stale)


# --- the areas the validator's faults keep it from checking ----------------------------------------------


def _all_demo_items(http_client: httpx.Client) -> list[dict[str, Any]]:
    body = http_client.get(f"/collections/{COLLECTION}/items", params={"limit": 1000}).json()
    return list(body["features"])


def _post(http_client: httpx.Client, body: dict[str, Any]) -> dict[str, Any]:
    response = http_client.post("/search", json={"collections": [COLLECTION], "limit": 1000, **body})
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/geo+json")
    answer: dict[str, Any] = response.json()
    return answer


def test_post_sort(http: httpx.Client) -> None:
    for direction in ("asc", "desc"):
        body = _post(http, {"sortby": [{"field": "properties.datetime", "direction": direction}]})
        times = [f["properties"]["datetime"] for f in body["features"]]
        assert len(times) > 1
        assert times == sorted(times, reverse=direction == "desc")


@pytest.mark.parametrize(("operators", "keep"), [
    ({"eq": 22}, lambda p: p["eo:cloud_cover"] == 22),
    ({"neq": 22}, lambda p: p["eo:cloud_cover"] != 22),
    ({"lt": 30}, lambda p: p["eo:cloud_cover"] < 30),
    ({"lte": 30, "gt": 10}, lambda p: 10 < p["eo:cloud_cover"] <= 30),
    ({"gte": 10}, lambda p: p["eo:cloud_cover"] >= 10),
])
def test_post_query_comparisons(http: httpx.Client, operators: dict[str, Any], keep: Any) -> None:
    expected = sorted(f["id"] for f in _all_demo_items(http) if keep(f["properties"]))
    got = sorted(f["id"] for f in _post(http, {"query": {"eo:cloud_cover": operators}})["features"])
    assert expected and got == expected


@pytest.mark.parametrize(("name", "operators", "keep"), [
    ("id", {"startsWith": "demo-00"}, lambda v: v.startswith("demo-00")),
    ("id", {"endsWith": "7"}, lambda v: v.endswith("7")),
    ("id", {"contains": "-01"}, lambda v: "-01" in v),
    ("platform", {"in": ["demo-sat-1", "demo-sat-3"]}, lambda v: v in ("demo-sat-1", "demo-sat-3")),
])
def test_post_query(http: httpx.Client, name: str, operators: dict[str, Any], keep: Any) -> None:
    items = _all_demo_items(http)
    expected = sorted(f["id"] for f in items if keep(f["id"] if name == "id" else f["properties"][name]))
    assert expected and len(expected) < len(items), "the case does not tell matching from not matching"
    got = sorted(f["id"] for f in _post(http, {"query": {name: operators}})["features"])
    assert got == expected
    as_get = http.get("/search", params={"collections": COLLECTION, "limit": 1000,
                                         "query": json.dumps({name: operators})}).json()
    assert sorted(f["id"] for f in as_get["features"]) == expected


def test_query_refuses_an_unknown_operator(http: httpx.Client) -> None:
    response = http.post("/search", json={"query": {"platform": {"like": "demo%"}}})
    assert response.status_code == 400
    assert "startsWith" in response.text


def test_fields_default_set(http: httpx.Client) -> None:
    feature = _post(http, {"fields": {"include": ["properties.eo:cloud_cover"]}})["features"][0]
    assert {"type", "stac_version", "id", "geometry", "bbox", "links", "assets"} <= set(feature)
    assert set(feature["properties"]) >= {"datetime", "eo:cloud_cover"}
    assert "platform" not in feature["properties"]
    for empty in ({}, {"include": None, "exclude": None}, {"include": [], "exclude": []}):
        feature = _post(http, {"fields": empty, "limit": 1})["features"][0]
        assert {"type", "stac_version", "id", "geometry", "bbox", "links", "assets"} <= set(feature)


def test_fields_exclude_only(http: httpx.Client) -> None:
    feature = _post(http, {"fields": {"exclude": ["geometry"]}, "limit": 1})["features"][0]
    assert "geometry" not in feature
    assert {"id", "assets"} <= set(feature) and "eo:cloud_cover" in feature["properties"]


def test_fields_include_and_exclude(http: httpx.Client) -> None:
    feature = _post(http, {"fields": {"include": ["geometry"], "exclude": ["geometry"]}, "limit": 1})["features"][0]
    assert "geometry" in feature  # included and excluded: included
    feature = _post(http, {"fields": {"include": ["properties.eo:cloud_cover"], "exclude": ["assets"]},
                           "limit": 1})["features"][0]
    assert "assets" not in feature and "eo:cloud_cover" in feature["properties"]


def test_bbox_3d_is_searched_on_its_footprint(http: httpx.Client) -> None:
    flat = http.get("/search", params={"bbox": "6,45,8,46", "limit": 1000}).json()
    assert flat["features"]
    for params in ({"bbox": "6,45,-100,8,46,9000"},):
        got = http.get("/search", params={**params, "limit": 1000})
        assert got.status_code == 200, got.text
        assert sorted(f["id"] for f in got.json()["features"]) == sorted(f["id"] for f in flat["features"])
    posted = http.post("/search", json={"bbox": [6, 45, -100, 8, 46, 9000], "limit": 1000})
    assert posted.status_code == 200, posted.text
    assert sorted(f["id"] for f in posted.json()["features"]) == sorted(f["id"] for f in flat["features"])
    collections = http.get("/collections", params={"bbox": "6,45,0,8,46,10"})
    assert collections.status_code == 200, collections.text
    assert COLLECTION in [c["id"] for c in collections.json()["collections"]]


def test_landing_page_is_browseable(http: httpx.Client) -> None:
    landing = http.get("/").json()
    assert landing["stac_version"] == "1.1.0"
    assert "https://api.stacspec.org/v1.0.0/browseable" in landing["conformsTo"]
    served = {c["id"] for c in http.get("/collections", params={"limit": 1000}).json()["collections"]}
    reached = set()
    for link in landing["links"]:
        if link["rel"] == "child":
            collection = http.get(link["href"])
            assert collection.status_code == 200 and collection.json()["type"] == "Collection"
            reached.add(collection.json()["id"])
    assert reached == served


def test_query_values_are_literal(http: httpx.Client) -> None:
    everything = [f["id"] for f in http.post("/search", json={"limit": 1000}).json()["features"]]
    expected = sorted(i for i in everything if i.startswith("CAPELLA_C1"))
    assert expected
    got = http.post("/search", json={"query": {"id": {"startsWith": "CAPELLA_C1"}}, "limit": 1000}).json()
    assert sorted(f["id"] for f in got["features"]) == expected
    wildcard = http.post("/search", json={"query": {"id": {"startsWith": "CAPELLA%"}}, "limit": 1000}).json()
    assert wildcard["features"] == []  # % is a character to match, not LIKE's wildcard
