"""Golden files are compared, never written by a run that was not asked to regenerate them."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.golden import REGENERATE, assert_golden


def test_a_missing_golden_file_fails_and_is_not_written(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(REGENERATE, raising=False)
    monkeypatch.delenv("CI", raising=False)
    path = tmp_path / "expected" / "missing.json"
    with pytest.raises(AssertionError, match="is missing"):
        assert_golden(path, {"a": 1})
    assert not path.exists()


def test_regenerating_writes_then_compares(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "golden.json"
    monkeypatch.setenv(REGENERATE, "1")
    assert_golden(path, {"a": 1})
    monkeypatch.delenv(REGENERATE)
    assert_golden(path, {"a": 1})
    with pytest.raises(AssertionError, match="differs"):
        assert_golden(path, {"a": 2})
