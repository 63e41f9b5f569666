"""Acme Imaging for stac-bridge: a provider declared through the ``stac_bridge.providers`` entry point."""
