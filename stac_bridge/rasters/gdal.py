"""GDAL's view of an href: the virtual file system path, and the configuration that keeps a header read small.

A header read must fetch the TIFF header and IFDs only: GDAL is told not to list directories
(``GDAL_DISABLE_READDIR_ON_OPEN``), to touch only TIFF-like names over HTTP (``CPL_VSIL_CURL_ALLOWED_EXTENSIONS``),
to read the header in one first request (``GDAL_INGESTED_BYTES_AT_OPEN``), to merge consecutive ranges and to keep
the connection (``GDAL_HTTP_MULTIRANGE``, ``GDAL_HTTP_MERGE_CONSECUTIVE_RANGES``, ``CPL_VSIL_CURL_CACHE_SIZE``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Final
from urllib.parse import urlsplit

__all__ = ["HEADER_READ_CONFIG", "credentials_for", "vsi_path"]

#: GDAL configuration for reading a remote GeoTIFF's header in as few and as small requests as it can.
HEADER_READ_CONFIG: Final[Mapping[str, str]] = {
    "GDAL_DISABLE_READDIR_ON_OPEN": "EMPTY_DIR",
    "CPL_VSIL_CURL_ALLOWED_EXTENSIONS": ".tif,.tiff,.TIF,.TIFF,.gtiff",
    "GDAL_INGESTED_BYTES_AT_OPEN": "32768",
    "GDAL_HTTP_MULTIRANGE": "YES",
    "GDAL_HTTP_MERGE_CONSECUTIVE_RANGES": "YES",
    "GDAL_HTTP_MAX_RETRY": "2",
    "GDAL_HTTP_RETRY_DELAY": "0.5",
    "GDAL_HTTP_TIMEOUT": "30",
    "VSI_CACHE": "TRUE",
    "GDAL_PAM_ENABLED": "NO",
}

_SCHEMES: Final = {"http": "/vsicurl/", "https": "/vsicurl/", "s3": "/vsis3/", "gs": "/vsigs/"}
#: The environment variables that give GDAL credentials for a scheme (any one of them suffices).
_CREDENTIALS: Final = {
    "s3": ("AWS_ACCESS_KEY_ID", "AWS_PROFILE", "AWS_NO_SIGN_REQUEST", "AWS_SESSION_TOKEN"),
    "gs": ("GS_ACCESS_KEY_ID", "GOOGLE_APPLICATION_CREDENTIALS", "GS_NO_SIGN_REQUEST", "GS_OAUTH2_REFRESH_TOKEN"),
}


def vsi_path(href: str) -> str:
    """The path GDAL opens for an href: ``/vsicurl/`` for http(s), ``/vsis3/`` for s3, ``/vsigs/`` for gs.

    A local path (or ``file://`` URL) is returned as a path; another scheme is returned unchanged (GDAL says
    what it makes of it).
    """
    parts = urlsplit(href)
    if parts.scheme == "file":
        return parts.path
    prefix = _SCHEMES.get(parts.scheme)
    if prefix is None:
        return href
    if prefix == "/vsicurl/":
        return prefix + href
    return f"{prefix}{parts.netloc}{parts.path}"


def credentials_for(href: str, environ: Mapping[str, str] | None = None) -> bool:
    """Whether an href can be read: http(s) and local always; s3/gs only when their credentials are set."""
    scheme = urlsplit(href).scheme
    names = _CREDENTIALS.get(scheme)
    if names is None:
        return True
    env = os.environ if environ is None else environ
    return any(env.get(name) for name in names)
