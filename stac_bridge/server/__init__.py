"""The STAC API: stac-fastapi-pgstac configured, plus provider-compatible endpoints."""
