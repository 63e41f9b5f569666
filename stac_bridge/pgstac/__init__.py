"""pgstac: the managed PostgreSQL cluster and the loader."""
