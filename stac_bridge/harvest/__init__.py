"""Harvesting provider APIs: HTTP client, protocol clients (one per provider) and the streaming engine."""
