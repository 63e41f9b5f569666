"""Reads collections through QGIS's OGC API Features provider and exports each to a GeoPackage.

Run with Debian's python3 (``python3-qgis``) by test_qgis.py: ``python3 qgis_driver.py <api url> <out dir> <id>...``.
Prints one JSON document: ``{collection: {"valid", "count", "ids", "fields", "export", "exported"}}``, where
``exported`` is the feature count read back from the GeoPackage.
"""

from __future__ import annotations

import json
import os
import sys

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from qgis.core import (  # noqa: E402
    QgsApplication,
    QgsCoordinateTransformContext,
    QgsVectorFileWriter,
    QgsVectorLayer,
)


def main(api: str, out: str, collections: list[str]) -> dict[str, object]:
    seen: dict[str, object] = {}
    for index, cid in enumerate(collections):
        layer = QgsVectorLayer(f"url='{api}' typename='{cid}'", cid, "OAPIF")
        entry: dict[str, object] = {"valid": layer.isValid()}
        if layer.isValid():
            names = layer.fields().names()
            features = list(layer.getFeatures())
            entry["count"] = len(features)
            entry["ids"] = sorted(str(f["id"]) for f in features) if "id" in names else []
            entry["fields"] = [f"{f.name()}:{f.typeName()}" for f in layer.fields()]
            options = QgsVectorFileWriter.SaveVectorOptions()
            options.driverName = "GPKG"
            path = os.path.join(out, f"{index}.gpkg")
            error, message, *_ = QgsVectorFileWriter.writeAsVectorFormatV3(
                layer, path, QgsCoordinateTransformContext(), options
            )
            entry["export"] = "ok" if error == QgsVectorFileWriter.NoError else f"error {error}: {message}"
            if error == QgsVectorFileWriter.NoError:
                entry["exported"] = QgsVectorLayer(path, cid, "ogr").featureCount()
        seen[cid] = entry
    return seen


if __name__ == "__main__":
    app = QgsApplication([], False)
    app.initQgis()
    result = main(sys.argv[1], sys.argv[2], sys.argv[3:])
    print(json.dumps(result))
    app.exitQgis()
