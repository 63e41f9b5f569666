"""Fixtures of the Descartes Labs tests."""

from __future__ import annotations

import pytest

from tests.descartes.standin import jwt


@pytest.fixture
def token(monkeypatch: pytest.MonkeyPatch) -> str:
    """A JWT with a future ``exp`` in ``DESCARTESLABS_TOKEN``, as the stand-in and the clients want it."""
    value = jwt()
    monkeypatch.setenv("DESCARTESLABS_TOKEN", value)
    return value
