"""The Transactions extension of stac-fastapi-pgstac, with every write validated as STAC before it is stored.

stac-fastapi-pgstac validates created and replaced objects with stac-pydantic's models, but stores the result
of a PATCH as it comes out of the patch: a JSON Patch that leaves a string in a collection's ``links`` is
saved, and from then on every read of the collection fails. Here the patched document is validated with the
same models as a created one before anything is written (and a patch that does not apply is a 400), through
the validation hooks stac-fastapi-pgstac's clients call; the writing itself stays theirs.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attr
import jsonpatch
import jsonpointer
from fastapi import HTTPException, Request
from json_merge_patch import merge
from pydantic import ValidationError
from stac_fastapi.extensions.transaction.request import PartialCollection, PartialItem, PatchOperation
from stac_fastapi.pgstac.models.extensions import Extensions
from stac_fastapi.pgstac.transactions import BulkTransactionsClient, TransactionsClient
from stac_fastapi.types.errors import NotFoundError
from stac_pydantic import Collection, Item

from stac_bridge.server.guards import excerpt, geometry_problem

__all__ = ["StrictExtensions", "StrictTransactionsClient"]

_MAX_ERRORS = 3


def _refuse(what: str, exc: ValidationError) -> HTTPException:
    errors = exc.errors()
    described = "; ".join(
        f"{'.'.join(str(p) for p in error.get('loc', ())) or what}: {excerpt(error.get('msg', 'invalid'), 100)}"
        for error in errors[:_MAX_ERRORS]
    )
    return HTTPException(status_code=400, detail=f"not a valid STAC {what}: {described}")


class _StrictValidation:
    """Validation hooks of stac-fastapi-pgstac's ``ClientValidateMixIn``, made to check the whole object."""

    def _validate_item(self, request: Request, item: Any, collection_id: str,
                       expected_item_id: str | None = None) -> None:
        if not isinstance(item, Mapping):
            raise HTTPException(status_code=400, detail="an item must be a JSON object")
        try:
            Item.model_validate(item)
        except ValidationError as exc:
            raise _refuse("Item", exc) from exc
        super()._validate_item(request, item, collection_id, expected_item_id)  # type: ignore[misc]
        problem = geometry_problem(item.get("geometry"))
        if problem is not None:
            raise HTTPException(status_code=400, detail=f"item {excerpt(item.get('id'))}: geometry: {problem}")

    def _validate_collection(self, request: Request, collection: Any) -> None:
        if not isinstance(collection, Mapping):
            raise HTTPException(status_code=400, detail="a collection must be a JSON object")
        try:  # first: the checks of stac-fastapi-pgstac assume an id
            Collection.model_validate(collection)
        except ValidationError as exc:
            raise _refuse("Collection", exc) from exc
        super()._validate_collection(request, collection)  # type: ignore[misc]


def _patched(existing: dict[str, Any], patch: PartialCollection | PartialItem | list[PatchOperation]) -> Any:
    """``existing`` with ``patch`` applied, as stac-fastapi-pgstac applies it; a patch that fails is a 400."""
    try:
        if isinstance(patch, list):
            return jsonpatch.JsonPatch([op.model_dump(mode="json") for op in patch]).apply(existing)
        return merge(existing, patch.model_dump(mode="json"))
    except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException, TypeError, ValueError) as exc:
        raise HTTPException(status_code=400, detail=f"the patch does not apply: {excerpt(str(exc), 200)}") from exc


@attr.s
class StrictTransactionsClient(_StrictValidation, TransactionsClient):  # type: ignore[misc]
    """stac-fastapi-pgstac's transactions client; a patch is applied and validated before it is written."""

    async def patch_collection(
        self,
        collection_id: str,
        patch: PartialCollection | list[PatchOperation],
        request: Request,
        **kwargs: Any,
    ) -> Any:
        """Patch a collection: the patched collection must be valid STAC with the same id."""
        async with request.app.state.get_connection(request, "r") as conn:
            existing = await conn.fetchval("SELECT * FROM get_collection($1::text)", collection_id)
        if existing is None:
            raise NotFoundError(f"Collection {collection_id} does not exist.")
        result = _patched(existing, patch)
        self._validate_collection(request, result)
        if result.get("id") != collection_id:
            raise HTTPException(status_code=400, detail="a patch may not change the collection's id")
        return await super().patch_collection(collection_id, patch, request, **kwargs)

    async def patch_item(
        self,
        collection_id: str,
        item_id: str,
        patch: PartialItem | list[PatchOperation],
        request: Request,
        **kwargs: Any,
    ) -> Any:
        """Patch an item: the patched item is validated by :meth:`_validate_item` before it is written."""
        try:
            return await super().patch_item(collection_id, item_id, patch, request, **kwargs)
        except (jsonpatch.JsonPatchException, jsonpointer.JsonPointerException) as exc:
            raise HTTPException(status_code=400,
                                detail=f"the patch does not apply: {excerpt(str(exc), 200)}") from exc


@attr.s
class StrictBulkTransactionsClient(_StrictValidation, BulkTransactionsClient):  # type: ignore[misc]
    """stac-fastapi-pgstac's bulk client, each item validated as STAC."""


class StrictExtensions(Extensions):  # type: ignore[misc]
    """stac-fastapi-pgstac's extensions, with the strict transactions clients."""

    @property
    def transaction(self) -> list[Any]:
        """The Transactions and Bulk Transactions extensions, on :class:`StrictTransactionsClient`."""
        extensions: list[Any] = super().transaction
        for extension in extensions:
            if isinstance(extension.client, TransactionsClient):
                extension.client = StrictTransactionsClient()
            elif isinstance(extension.client, BulkTransactionsClient):
                extension.client = StrictBulkTransactionsClient()
        return extensions
