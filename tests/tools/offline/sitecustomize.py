"""Keeps a tool's process offline: schema URLs go to a local mirror, every other non-local host is refused.

Put this directory on ``PYTHONPATH`` of a tool's subprocess, with ``STAC_BRIDGE_SCHEMA_MIRROR`` set to
``http://127.0.0.1:<port>`` serving a directory laid out as ``<host>/<path>`` (``../shared/stac-schemas``).
The ways Python tools fetch are covered: ``requests``, ``urllib3`` (pystac) and ``urllib``.
"""

from __future__ import annotations

import os
import urllib.request
from typing import Any
from urllib.parse import urlsplit

MIRROR = os.environ.get("STAC_BRIDGE_SCHEMA_MIRROR", "").rstrip("/")
HOSTS = frozenset(filter(None, os.environ.get("STAC_BRIDGE_SCHEMA_HOSTS", "").split(",")))
LOCAL = frozenset({"127.0.0.1", "localhost", "::1"})


def rewrite(url: str) -> str:
    parts = urlsplit(url)
    if parts.hostname in HOSTS and MIRROR:
        return f"{MIRROR}/{parts.hostname}{parts.path}"
    if parts.scheme in ("http", "https") and parts.hostname not in LOCAL:
        raise ConnectionError(f"offline test: no network access to {url}")
    return url


_open = urllib.request.OpenerDirector.open


def _offline_open(self: Any, fullurl: Any, *args: Any, **kwargs: Any) -> Any:
    if isinstance(fullurl, str):
        fullurl = rewrite(fullurl)
    else:
        fullurl.full_url = rewrite(fullurl.full_url)
    return _open(self, fullurl, *args, **kwargs)


urllib.request.OpenerDirector.open = _offline_open  # type: ignore[method-assign]

try:
    import requests.sessions
except ImportError:  # a tool without requests
    pass
else:
    _request = requests.sessions.Session.request

    def _offline_request(self: Any, method: str, url: Any, *args: Any, **kwargs: Any) -> Any:
        return _request(self, method, rewrite(str(url)), *args, **kwargs)

    requests.sessions.Session.request = _offline_request  # type: ignore[method-assign]

try:
    import urllib3
except ImportError:
    pass
else:
    _pool_open = urllib3.PoolManager.urlopen

    def _offline_pool_open(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        return _pool_open(self, method, rewrite(url), *args, **kwargs)

    urllib3.PoolManager.urlopen = _offline_pool_open  # type: ignore[method-assign]
