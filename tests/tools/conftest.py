"""The demo catalog served for each real-tool test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import RunningServer
from tests.tools.demo import demo_api


@pytest.fixture(scope="module")
def demo(pgstac_server_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[RunningServer, Path]]:
    """The demo catalog (as ``make demo`` builds it) on a throwaway database, served by the API."""
    tmp = tmp_path_factory.mktemp("demo")
    with demo_api(pgstac_server_url, tmp) as running:
        yield running, tmp
