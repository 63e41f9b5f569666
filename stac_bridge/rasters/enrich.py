"""Items enriched from their GeoTIFF headers: the grid, the CRS and the bands that providers leave out.

A BYOC tile says nothing of its pixels' shape, transform or per-asset data type; a DL image has no statistics.
The COG's header says it all, and reading it takes a few kilobytes through GDAL's ``/vsicurl/`` (``/vsis3/``,
``/vsigs/`` where credentials exist) with :data:`~stac_bridge.rasters.gdal.HEADER_READ_CONFIG`.

:func:`read_header` is the I/O (rasterio); :func:`fill` is pure: it adds ``proj:shape``, ``proj:transform``,
``proj:code`` (or ``proj:wkt2``), ``proj:bbox`` and each band's ``data_type``, ``nodata`` and ``statistics``
(those in the header: GDAL's ``STATISTICS_*``) **only where the Item has none**. :class:`Enricher` reads many
headers at once in a thread pool, each once (a cache), and leaves an Item whose read failed as it was, counted
in its :class:`EnrichSummary`.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final
from urllib.parse import urlsplit

from stac_bridge.rasters.gdal import HEADER_READ_CONFIG, credentials_for, vsi_path

__all__ = ["EnrichSummary", "Enricher", "EnrichingSink", "Header", "fill", "geotiff_assets", "read_header"]

_TIFF_SUFFIXES: Final = (".tif", ".tiff", ".gtiff")
_PROJ_FIELDS: Final = ("proj:code", "proj:wkt2", "proj:shape", "proj:transform", "proj:bbox")


@dataclass(frozen=True)
class Header:
    """What a GeoTIFF's header says of its pixels.

    Attributes:
        shape: ``[rows, cols]``.
        transform: The affine transform, ``[a, b, c, d, e, f]``.
        bbox: The bounds in the raster's CRS.
        code: ``EPSG:<n>`` when the CRS has an EPSG code.
        wkt2: The CRS as WKT2 when it has none.
        bands: Per band: ``data_type``, and ``nodata`` and ``statistics`` where the header has them.
    """

    shape: list[int]
    transform: list[float]
    bbox: list[float]
    code: str | None
    wkt2: str | None
    bands: list[dict[str, Any]]

    def grid(self) -> dict[str, Any]:
        """The ``proj:`` fields of the header."""
        found: dict[str, Any] = {"proj:shape": list(self.shape), "proj:transform": list(self.transform),
                                 "proj:bbox": list(self.bbox)}
        if self.code is not None:
            found["proj:code"] = self.code
        elif self.wkt2 is not None:
            found["proj:wkt2"] = self.wkt2
        return found


# --- reading ---------------------------------------------------------------------------------------------------

def read_header(href: str) -> Header:
    """Read the header of the GeoTIFF at ``href`` (a path, or an http(s), s3 or gs URL), never its pixels.

    Raises:
        OSError: there are no credentials for its scheme, or GDAL cannot open it.
    """
    import rasterio

    from stac_bridge.rasters.items import header_statistics, plain_nodata

    if not credentials_for(href):
        raise OSError(f"no credentials for {urlsplit(href).scheme}:// in the environment")
    try:
        with rasterio.Env(**HEADER_READ_CONFIG), rasterio.open(vsi_path(href)) as dataset:
            crs = dataset.crs
            epsg = crs.to_epsg() if crs is not None else None
            bands = []
            for index, data_type in zip(dataset.indexes, dataset.dtypes, strict=True):
                band: dict[str, Any] = {"data_type": str(data_type)}
                nodata = dataset.nodatavals[index - 1]
                if nodata is not None:
                    band["nodata"] = plain_nodata(nodata, str(data_type))
                statistics = header_statistics(dataset, index)
                if statistics:
                    band["statistics"] = statistics
                bands.append(band)
            return Header(
                shape=[dataset.height, dataset.width],
                transform=list(dataset.transform)[:6],
                bbox=list(dataset.bounds),
                code=f"EPSG:{epsg}" if epsg else None,
                wkt2=crs.to_wkt() if crs is not None and not epsg else None,
                bands=bands,
            )
    except rasterio.errors.RasterioError as exc:
        raise OSError(str(exc)) from None


def geotiff_assets(item: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(key, href)`` of an Item's data assets that are GeoTIFFs (by media type, else by the name's suffix)."""
    found = []
    for key, asset in (item.get("assets") or {}).items():
        if not isinstance(asset, Mapping) or not isinstance(asset.get("href"), str):
            continue
        roles = asset.get("roles") or ["data"]
        if "data" not in roles:
            continue
        media = str(asset.get("type") or "")
        if "image/tiff" in media or urlsplit(asset["href"]).path.lower().endswith(_TIFF_SUFFIXES):
            found.append((str(key), asset["href"]))
    return found


# --- filling (pure) -------------------------------------------------------------------------------------------

def _fill_bands(asset: dict[str, Any], header: Header) -> bool:
    changed = False
    bands = asset.get("bands")
    if not isinstance(bands, list) or not bands:
        asset["bands"] = [dict(b) for b in header.bands]
        return True
    if len(bands) == len(header.bands):
        pairs = list(zip(bands, header.bands, strict=True))
    else:
        # Which of the file's bands an asset band is, is not known: only what every band of the file shares.
        shared = {k: v for k, v in header.bands[0].items() if k != "statistics"
                  and all(b.get(k) == v for b in header.bands)}
        pairs = [(band, shared) for band in bands]
    for band, known in pairs:
        if not isinstance(band, dict):
            continue
        for key, value in known.items():
            if key not in band:
                band[key] = value
                changed = True
    return changed


def fill(item: dict[str, Any], headers: Mapping[str, Header]) -> bool:
    """Add to ``item`` (in place) what the headers of its GeoTIFF assets say and it does not.

    Args:
        item: A STAC Item (a dict).
        headers: The headers, by asset key (assets without one are left alone).

    Returns:
        Whether anything was added.
    """
    keys = [key for key, _ in geotiff_assets(item) if key in headers]
    if not keys:
        return False
    properties = item.setdefault("properties", {})
    changed = False
    first = headers[keys[0]].grid()
    has_crs = any(k in properties for k in ("proj:code", "proj:wkt2", "proj:projjson"))
    same_crs = not has_crs or properties.get("proj:code") == first.get("proj:code")
    for name in _PROJ_FIELDS:
        if name in ("proj:code", "proj:wkt2"):
            if not has_crs and name in first:
                properties[name] = first[name]
                changed = True
        elif name not in properties and name in first and same_crs:
            properties[name] = first[name]
            changed = True
    for key in keys:
        asset = item["assets"][key]
        grid = headers[key].grid()
        for name in ("proj:shape", "proj:transform"):
            if name not in asset and properties.get(name) != grid[name] and same_crs:
                asset[name] = grid[name]  # a band on another grid (a 20 m band of a 10 m scene)
                changed = True
        changed = _fill_bands(asset, headers[key]) or changed
    if changed:
        _declare(item)
    return changed


def _declare(item: dict[str, Any]) -> None:
    from stac_bridge.transforms.kernel import EXTENSION_SCHEMAS

    uris = item.setdefault("stac_extensions", [])
    proj = EXTENSION_SCHEMAS["proj"]
    if proj not in uris:
        uris.append(proj)


# --- many Items at once ------------------------------------------------------------------------------------

@dataclass
class EnrichSummary:
    """What enrichment did.

    Attributes:
        enriched: Items that gained fields.
        complete: Items whose GeoTIFF headers added nothing (the provider had said it all).
        skipped: Items without a GeoTIFF asset.
        failed: Items left as they were because a header could not be read.
        headers: Headers read (each href once).
        reasons: Why reads failed, by reason.
    """

    enriched: int = 0
    complete: int = 0
    skipped: int = 0
    failed: int = 0
    headers: int = 0
    reasons: Counter[str] = field(default_factory=Counter)

    def __str__(self) -> str:
        text = (f"enrich: {self.enriched} items enriched, {self.complete} already complete, {self.skipped} "
                f"without a GeoTIFF, {self.failed} failed ({self.headers} headers read)")
        if self.reasons:
            text += "; failures: " + "; ".join(f"{n} x {r}" for r, n in self.reasons.most_common(5))
        return text


Reader = Callable[[str], Header]


class Enricher:
    """Enriches Items from their GeoTIFF headers, ``workers`` reads at once, each href read once.

    Args:
        workers: Headers read at once (threads: the reads wait on the network).
        reader: Reads one header (:func:`read_header`; a test may count calls).
    """

    def __init__(self, workers: int = 8, reader: Reader = read_header) -> None:
        self.workers = max(1, workers)
        self.summary = EnrichSummary()
        self._reader = reader
        self._cache: dict[str, Header | str] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(self.workers, thread_name_prefix="enrich")
        #: The batch enriched last and its first record, so that sinks sharing this enricher enrich it once.
        self.last_batch: object = None
        self.last_first: object = None

    def _read(self, href: str) -> None:
        try:
            found: Header | str = self._reader(href)
        except Exception as exc:  # any failure: the Item stays as it was, the reason is counted
            found = f"{type(exc).__name__}: {str(exc)[:160]}"
        with self._lock:
            self._cache[href] = found
            self.summary.headers += 1

    def enrich(self, items: Iterable[dict[str, Any]]) -> None:
        """Enrich the Items among ``items`` in place (Collections and others pass untouched)."""
        batch = [i for i in items if isinstance(i, dict) and i.get("type") == "Feature"]
        wanted = {href for item in batch for _, href in geotiff_assets(item)}
        with self._lock:
            missing = sorted(wanted - self._cache.keys())
        list(self._pool.map(self._read, missing))
        for item in batch:
            self._enrich_one(item)

    def _enrich_one(self, item: dict[str, Any]) -> None:
        assets = geotiff_assets(item)
        if not assets:
            self.summary.skipped += 1
            return
        headers: dict[str, Header] = {}
        for key, href in assets:
            found = self._cache.get(href)
            if not isinstance(found, Header):
                self.summary.failed += 1
                self.summary.reasons[str(found)] += 1
                return  # one unreadable asset: the Item stays as the provider gave it
            headers[key] = found
        if fill(item, headers):
            self.summary.enriched += 1
        else:
            self.summary.complete += 1

    def close(self) -> None:
        """Stop the threads."""
        self._pool.shutdown(wait=True)


class EnrichingSink:
    """A harvest sink that enriches each batch before its ``inner`` sink writes it.

    Several sinks may share one :class:`Enricher`: a batch is enriched once (the first sink), in place.
    Everything else (``open``, ``tell``, ``load_collections``...) is the inner sink's.
    """

    def __init__(self, inner: Any, enricher: Enricher) -> None:
        self.inner = inner
        self.enricher = enricher

    def write(self, batch: Sequence[dict[str, Any]]) -> Any:
        """Enrich the batch (once for all the sinks sharing the enricher), then write it."""
        # The engine refills one list for every batch: the batch is told by the list and its first record.
        first = batch[0] if batch else None
        if self.enricher.last_batch is not batch or self.enricher.last_first is not first:
            self.enricher.enrich(batch)
            self.enricher.last_batch, self.enricher.last_first = batch, first
        return self.inner.write(batch)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)
