"""Pure transforms between provider models and STAC, one module per provider.

Example:
    >>> from stac_bridge.transforms import byoc  # doctest: +SKIP
    >>> item = byoc.tile_to_stac(tile, collection)  # doctest: +SKIP
"""
