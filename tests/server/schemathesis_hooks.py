"""Schemathesis hooks for ``tests/server/test_schemathesis.py`` (loaded through ``SCHEMATHESIS_HOOKS``).

``response_schema_conformance_where_documented`` is schemathesis' own response schema check, skipped only where
stac-fastapi's OpenAPI document is known to describe the answer wrongly (each case says why).
"""

from __future__ import annotations

from typing import Any

import schemathesis
from schemathesis.specs.openapi.checks import response_schema_conformance


def _uses_fields(case: Any) -> bool:
    body = case.body if isinstance(case.body, dict) else {}
    return bool((case.query or {}).get("fields")) or body.get("fields") not in (None, {}, {"include": [],
                                                                                            "exclude": []})


def _undocumented(case: Any) -> str | None:
    """Why stac-fastapi's OpenAPI does not describe this answer, or ``None`` when it should."""
    method, path = case.operation.method.upper(), case.operation.path
    if _uses_fields(case):
        return "the fields extension trims items and collections below the schema the answer is documented with"
    if method == "DELETE":
        return "stac-fastapi-pgstac answers a delete with {'deleted collection': id}, documented as the object"
    if method == "POST" and path == "/collections/{collection_id}/items" and isinstance(case.body, dict) \
            and case.body.get("type") == "FeatureCollection":
        return "stac-fastapi-pgstac answers a FeatureCollection of new items with an empty 201"
    return None


@schemathesis.check
def response_schema_conformance_where_documented(ctx: Any, response: Any, case: Any) -> bool | None:
    """The response schema check, except where the OpenAPI document is known to be wrong (see above)."""
    if _undocumented(case) is not None:
        return None
    result: bool | None = response_schema_conformance(ctx, response, case)
    return result
