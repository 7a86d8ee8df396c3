"""The ASGI extensions by which a server sends a file itself, named once for app and server."""

PATHSEND = "http.response.pathsend"
"""A whole file by its path (ASGI `http.response.pathsend`; granian offers it)."""

ZEROCOPYSEND = "http.response.zerocopysend"
"""Bytes of an open file, with an offset and a count (ASGI `http.response.zerocopysend`)."""
