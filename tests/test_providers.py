"""The providers: one declaration each, found through the entry-point group, built-ins included; clear errors."""

from __future__ import annotations

from collections.abc import Iterator
from importlib.metadata import EntryPoint
from typing import Any

import pytest

import stac_bridge
from stac_bridge import plugin
from stac_bridge.cli import main
from stac_bridge.errors import ConfigError, TransformError, UntranslatableQueryError
from stac_bridge.registry import Adapter, Kind, ProviderRecord

BUILTINS = {"byoc", "capella", "descartes", "opensearch", "stac"}


@pytest.fixture()
def fresh_providers() -> Iterator[None]:
    plugin.providers.cache_clear()
    yield
    plugin.providers.cache_clear()


def _only(monkeypatch: pytest.MonkeyPatch, *entries: EntryPoint) -> None:
    def fake_entry_points(group: str) -> list[Any]:
        return list(entries) if group == plugin.ENTRY_POINT_GROUP else []

    monkeypatch.setattr(plugin, "entry_points", fake_entry_points)


def test_the_builtins_register_through_the_entry_point_group() -> None:
    assert set(plugin.providers()) >= BUILTINS
    for name in BUILTINS:
        provider = plugin.get_provider(name)
        assert isinstance(provider.adapter(), Adapter) and provider.adapter().name == name
        assert provider.source is not None


def test_builtin_stac_adapter_passes_stac_through() -> None:
    adapter = stac_bridge.get_adapter("stac")
    raw = {"type": "Feature", "id": "a", "geometry": None, "properties": {"datetime": None}}
    record = adapter.classify(raw)
    assert record == ProviderRecord(Kind.ITEM, raw)
    assert adapter.to_stac(record) == {**raw, "links": []}
    assert adapter.from_stac(raw) == raw and adapter.from_stac(raw) is not raw
    assert adapter.export_records(raw) == [raw]
    assert list(adapter.link([record])) == [record]
    with pytest.raises(TransformError, match="'type'"):
        adapter.classify({"type": "Thing", "id": "x"})


def test_the_endpoints_declare_their_read_only_posts() -> None:
    capella = plugin.get_provider("capella").endpoint
    assert capella is not None and capella.open_posts() == {"/capella/catalog/search"}
    opensearch = plugin.get_provider("opensearch").endpoint
    assert opensearch is not None and opensearch.open_posts() == frozenset()


def test_query_translators_both_ways() -> None:
    query = plugin.get_provider("opensearch").query
    assert query is not None and query.to_stac is not None and query.from_stac is not None
    search = query.to_stac({"collection": "c", "cloudCover": "60]"})
    assert search["collections"] == ["c"]
    assert query.from_stac(search)["cloudCover"] == "60]"
    with pytest.raises(UntranslatableQueryError):
        query.to_stac({"platform": "x"})
    descartes = plugin.get_provider("descartes").query
    assert descartes is not None and descartes.from_stac is not None
    assert descartes.from_stac({"collections": ["p"], "bbox": [0, 0, 1, 1]})["bbox"] == [0, 0, 1, 1]
    with pytest.raises(UntranslatableQueryError, match="intersects"):
        descartes.from_stac({"intersects": {"type": "Point", "coordinates": [0, 0]}})


def test_unknown_provider_lists_the_installed_ones() -> None:
    with pytest.raises(ConfigError, match="no provider named 'nope'.*stac"):
        stac_bridge.get_adapter("nope")


def test_a_third_party_provider_is_found(monkeypatch: pytest.MonkeyPatch, fresh_providers: None) -> None:
    _only(monkeypatch, EntryPoint(name="stac", value="stac_bridge.providers.stac:PROVIDER",
                                  group=plugin.ENTRY_POINT_GROUP))
    assert stac_bridge.list_adapters() == ["stac"]


@pytest.mark.parametrize(("value", "message"), [
    ("no_such_module:PROVIDER", "could not be loaded"),
    ("stac_bridge.transforms.stac:ADAPTER", "not a stac_bridge.plugin.Provider"),
    ("stac_bridge.providers.byoc:PROVIDER", "declares the name 'byoc'"),
])
def test_a_broken_entry_point_is_a_config_error(monkeypatch: pytest.MonkeyPatch, fresh_providers: None,
                                                 value: str, message: str) -> None:
    _only(monkeypatch, EntryPoint(name="broken", value=value, group=plugin.ENTRY_POINT_GROUP))
    with pytest.raises(ConfigError, match=message):
        plugin.providers()


def test_no_provider_at_all_says_to_reinstall(monkeypatch: pytest.MonkeyPatch, fresh_providers: None) -> None:
    _only(monkeypatch)
    with pytest.raises(ConfigError, match="reinstall"):
        plugin.providers()


def test_cli_lists_the_providers_and_what_they_can_do(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    assert main(["providers", "--json"]) == 0
    listed = {p["name"]: p for p in json.loads(capsys.readouterr().out)}
    assert set(listed) >= BUILTINS
    assert "endpoint /capella" in listed["capella"]["can"] and "harvest" in listed["byoc"]["can"]
    assert listed["descartes"]["kinds"] == ["product", "band", "image"]
    assert main(["providers"]) == 0
    assert "opensearch" in capsys.readouterr().out


def test_only_the_entry_point_loader_loads_code_by_name() -> None:
    from pathlib import Path

    package = Path(plugin.__file__).parent
    users = sorted(str(p.relative_to(package)) for p in package.rglob("*.py") if "importlib" in p.read_text())
    assert users == ["plugin.py"]
