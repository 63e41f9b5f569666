"""The adapter registry: built-ins by name, entry points, clear errors."""

from __future__ import annotations

from importlib.metadata import EntryPoint
from typing import Any

import pytest

import stac_bridge
from stac_bridge.errors import ConfigError, TransformError
from stac_bridge.registry import Adapter, ProviderRecord


def test_builtin_stac_adapter_passes_stac_through() -> None:
    adapter = stac_bridge.get_adapter("stac")
    assert isinstance(adapter, Adapter)
    raw = {"type": "Feature", "id": "a", "geometry": None, "properties": {"datetime": None}}
    record = adapter.classify(raw)
    assert record == ProviderRecord("item", raw)
    assert adapter.to_stac(record) == {**raw, "links": []}
    assert adapter.from_stac(raw) == raw and adapter.from_stac(raw) is not raw
    with pytest.raises(TransformError, match="'type'"):
        adapter.classify({"type": "Thing", "id": "x"})


def test_unknown_adapter_lists_the_known_ones() -> None:
    with pytest.raises(ConfigError, match="no adapter named 'nope'.*stac"):
        stac_bridge.get_adapter("nope")


def test_entry_point_adapters_are_found(monkeypatch: pytest.MonkeyPatch) -> None:
    import stac_bridge.registry as registry

    entry = EntryPoint(name="thirdparty", value="stac_bridge.transforms.stac:StacAdapter", group="stac_bridge.adapters")

    def fake_entry_points(group: str) -> list[Any]:
        return [entry] if group == registry.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(registry, "entry_points", fake_entry_points)
    assert "thirdparty" in stac_bridge.list_adapters()
    assert isinstance(stac_bridge.get_adapter("thirdparty"), Adapter)


def test_broken_entry_point_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import stac_bridge.registry as registry

    entry = EntryPoint(name="broken", value="no_such_module:ADAPTER", group="stac_bridge.adapters")
    monkeypatch.setattr(registry, "entry_points", lambda group: [entry])
    with pytest.raises(ConfigError, match="could not be loaded"):
        stac_bridge.get_adapter("broken")
