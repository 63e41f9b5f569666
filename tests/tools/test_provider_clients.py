"""The providers' own clients over the whole demo catalog, as their users' scripts iterate it.

terracatalogueclient reads ``/opensearch/`` and capella-console-client reads ``/capella`` (in a venv of its own:
``tests/sdkvenv.py``). Each iterates every collection of the catalog without an error and gets the ids
``/search`` gives for it.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.capella.data import CLIENT
from tests.conftest import RunningServer
from tests.sdkvenv import run_sdk, sdk_python
from tests.tools.demo import collection_ids, demo_api, search_ids

# The first run installs the tool (apt, a venv): more than the suite's 300 s.
pytestmark = [pytest.mark.db, pytest.mark.server, pytest.mark.timeout(1200)]


@pytest.fixture(scope="module")
def api(pgstac_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with demo_api(pgstac_server_url, tmp_path_factory.mktemp("demo")) as running:
        yield running


def test_terracatalogueclient_iterates_every_collection(api: RunningServer, tmp_path: Path) -> None:
    pytest.importorskip("terracatalogueclient")
    from terracatalogueclient import Catalogue
    from terracatalogueclient.config import CatalogueConfig

    ini = tmp_path / "catalogue.ini"
    ini.write_text(f"[Catalogue]\nURL = {api.url}/opensearch/\n")
    catalogue = Catalogue(CatalogueConfig.from_file(str(ini)))
    listed = [c.id for c in catalogue.get_collections()]
    assert sorted(listed) == sorted(collection_ids(api))
    for cid in listed:
        products = list(catalogue.get_products(cid, count=7))  # a small page: several pages per collection
        assert [p.id for p in products] == search_ids(api, cid), cid
        assert catalogue.get_product_count(cid) == len(products), cid
        for product in products:  # what its users read of each product
            assert product.geometry is not None and product.beginningDateTime is not None, product.id


CAPELLA_SCRIPT = """
import json, os, sys
from capella_console_client import CapellaConsoleClient

client = CapellaConsoleClient(base_url=os.environ["API_URL"] + "/capella", no_auth=True)
found = {}
for cid in sys.argv[1:]:
    result = client.search(collections=[cid], limit=1000)
    found[cid] = [feature["id"] for feature in result.to_feature_collection()["features"]]
print(json.dumps(found))
"""


def test_capella_console_client_iterates_every_collection(api: RunningServer) -> None:
    python = sdk_python(*CLIENT)
    every = collection_ids(api)
    found: dict[str, Any] = run_sdk(python, CAPELLA_SCRIPT, *every, env={"API_URL": api.url, "NO_PROXY": "127.0.0.1"},
                                    timeout=300)
    for cid in every:
        assert sorted(found[cid]) == sorted(search_ids(api, cid)), cid
    assert json.dumps(found)  # every collection answered
