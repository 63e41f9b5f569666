"""Moving a catalog from one provider to another: STAC in the middle, the target's registration payloads out.

:mod:`.prepare` puts STAC of any origin (rasters, Descartes Labs, BYOC) in the shape the target provider's
transform reads, and says what the target has no place for; :mod:`.commands` adds ``--bucket`` to ``export``
and the ``migrate`` command.
"""
