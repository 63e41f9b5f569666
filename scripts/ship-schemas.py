#!/usr/bin/env python3
"""Copy the STAC schemas that stac-bridge's outputs declare into stac_bridge/schemas/ (run by hand).

From a schema directory laid out by URL with an index.json (../shared/stac-schemas): the STAC core v1.0.0 and
v1.1.0, the newest version of each extension listed below, every version the package's code names and every
version pystac's extension classes declare (the mapping kernel declares extensions through them), and whatever
those refer to ($ref), so that validation never needs the network. Run it with the project's venv.
"""

from __future__ import annotations

import json
import re
import shutil
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT.parent / "shared" / "stac-schemas"
TARGET = ROOT / "stac_bridge" / "schemas"
EXTENSIONS = ("eo", "projection", "raster", "sar", "sat", "view", "file", "processing", "product", "grid",
              "timestamps", "item-assets", "scientific", "version", "mgrs", "storage", "order")
URL = re.compile(r"https://[A-Za-z0-9./_-]+\.json")


def _version_key(url: str) -> tuple[int, ...]:
    match = re.search(r"/v(\d+)\.(\d+)\.(\d+)(-[^/]*)?/", url)
    if not match:
        return (0,)
    # A pre-release sorts before its release.
    return (*(int(g) for g in match.groups()[:3]), 0 if match.group(4) else 1)


def _pystac_uris() -> set[str]:
    import importlib
    import pkgutil

    import pystac.extensions

    uris = set()
    for module_info in pkgutil.iter_modules(pystac.extensions.__path__):
        module = importlib.import_module(f"pystac.extensions.{module_info.name}")
        for value in vars(module).values():
            if isinstance(value, type) and callable(getattr(value, "get_schema_uri", None)):
                try:
                    uris.add(value.get_schema_uri())
                except Exception:  # abstract bases have none
                    continue
    return uris


def main() -> None:
    """Copy the schemas and write their index."""
    index: dict[str, str] = json.loads((SOURCE / "index.json").read_text())
    wanted = {u for u in index if u.startswith("https://schemas.stacspec.org/") or u.startswith("https://geojson.org/")}
    for name in EXTENSIONS:
        versions = [u for u in index if u.startswith(f"https://stac-extensions.github.io/{name}/")]
        if versions:
            wanted.add(max(versions, key=_version_key))
    named = set()
    for path in (ROOT / "stac_bridge").rglob("*.py"):
        named |= set(URL.findall(path.read_text()))
    wanted |= {u for u in named if u in index}
    wanted |= {u for u in _pystac_uris() if u in index and u.split("/")[3] in EXTENSIONS}
    # The closure over $ref: a schema that refers to another needs it offline too.
    todo = list(wanted)
    while todo:
        url = todo.pop()
        text = (SOURCE / index[url]).read_text()
        for ref in re.findall(r'"\$ref"\s*:\s*"(https://[^"#]+)', text):
            if ref in index and ref not in wanted:
                wanted.add(ref)
                todo.append(ref)
    if TARGET.exists():
        shutil.rmtree(TARGET)
    shipped = {}
    for url in sorted(wanted):
        relative = index[url]
        (TARGET / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SOURCE / relative, TARGET / relative)
        shipped[url] = relative
    (TARGET / "index.json").write_text(json.dumps(shipped, indent=1) + "\n")
    print(f"{len(shipped)} schemas in {TARGET}")


if __name__ == "__main__":
    main()
