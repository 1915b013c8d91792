"""The Server-Server API: one module per spec area (keys, queries, user devices and
keys, the public room directory, OpenID, version)."""
