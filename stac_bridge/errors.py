"""The one error hierarchy of stac-bridge.

Third-party exceptions (httpx, psycopg, jsonschema, pyproj) are translated into these at the edge where they
happen; callers never need to catch a library's own exception types.
"""

from __future__ import annotations


class StacBridgeError(Exception):
    """Base class of every error stac-bridge raises on purpose."""


class TransformError(StacBridgeError, ValueError):
    """A provider record (or STAC object) could not be translated.

    Attributes:
        provider: The adapter name, e.g. ``"byoc"``.
        record_id: The id of the offending record, or ``None`` when it has none.
        field: The field (dotted path) that is missing or wrong, or ``None`` for the record as a whole.
        reason: What is wrong, in words.
    """

    def __init__(self, provider: str, record_id: str | None, field: str | None, reason: str) -> None:
        self.provider = provider
        self.record_id = record_id
        self.field = field
        self.reason = reason
        where = f"{provider} record {record_id!r}" if record_id is not None else f"{provider} record"
        if field:
            where += f", field {field!r}"
        super().__init__(f"{where}: {reason}")


class UntranslatableQueryError(TransformError):
    """A search has a part the other query language cannot express (it is never silently widened or dropped).

    Attributes:
        part: The parameter or filter part that cannot be translated, e.g. ``"filter.or"`` or ``"platform"``.
    """

    def __init__(self, provider: str, part: str, reason: str) -> None:
        self.part = part
        super().__init__(provider, None, part, reason)


class ValidationError(StacBridgeError):
    """A STAC object does not validate against its JSON schemas.

    Attributes:
        object_id: The id of the object that failed.
        errors: One message per schema violation, each naming the schema and the JSON path.
    """

    def __init__(self, object_id: str | None, errors: list[str]) -> None:
        self.object_id = object_id
        self.errors = errors
        super().__init__(f"{object_id or '<no id>'} is not valid STAC: " + "; ".join(errors))


class SchemaNotFoundError(StacBridgeError):
    """An offline validation needed a schema URL that the schema directory does not hold."""

    def __init__(self, url: str, schema_dir: str) -> None:
        self.url = url
        super().__init__(f"schema {url} is not in {schema_dir} (offline validation never reaches the network)")


class HarvestError(StacBridgeError):
    """A provider API could not be harvested."""


class RateLimitError(HarvestError):
    """The provider kept answering 429 after every retry."""


class AuthError(HarvestError):
    """The provider refused the credentials (401 or 403)."""


class ProviderError(HarvestError):
    """The provider answered with an error status, or with a body that is not what its protocol promises.

    Attributes:
        status: The HTTP status, or ``None`` when the failure was not an HTTP answer.
        body: The start of the response body, for the log.
    """

    def __init__(self, message: str, *, status: int | None = None, body: str = "") -> None:
        self.status = status
        self.body = body
        detail = f" (HTTP {status})" if status is not None else ""
        tail = f": {body}" if body else ""
        super().__init__(f"{message}{detail}{tail}")


class LoadError(StacBridgeError):
    """STAC objects could not be loaded into pgstac."""


class DatabaseError(StacBridgeError):
    """The managed database could not be set up, started or reached."""


class ConfigError(StacBridgeError):
    """The configuration (environment, arguments) is missing or contradictory."""
