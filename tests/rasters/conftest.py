"""Fixtures of the raster tests: a folder of small COGs written once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.rasters import cogs


@pytest.fixture(scope="session")
def cog_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder of every scene of :mod:`tests.rasters.cogs`, as COGs."""
    folder = tmp_path_factory.mktemp("cogs")
    cogs.write_all(folder)
    return folder
