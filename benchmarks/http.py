"""A small HTTP/1.1 keep-alive client on asyncio streams, for load generation.

The benchmark's clients share the 2 cores with the servers and the database, so they must cost little:
requests are prepared bytes, answers are read (by ``Content-Length`` or chunks) and counted, never parsed.
Headers are what ``requests`` (pystac-client's) sends, compression included.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

HEADERS = b"Accept: application/geo+json, application/json\r\nAccept-Encoding: gzip, deflate\r\nUser-Agent: bench\r\n"


@dataclass(frozen=True)
class Request:
    """One prepared request."""

    method: str
    target: str
    body: bytes = b""

    def encode(self, host: str, port: int) -> bytes:
        """The request's bytes."""
        head = f"{self.method} {self.target} HTTP/1.1\r\nHost: {host}:{port}\r\n".encode() + HEADERS
        if self.method in ("POST", "PUT", "PATCH"):
            head += f"Content-Type: application/json\r\nContent-Length: {len(self.body)}\r\n".encode()
        return head + b"\r\n" + self.body


class Connection:
    """One keep-alive connection to ``host:port`` (reconnected when the server closes it)."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self._reader is None or self._writer is None:
            self._reader, self._writer = await asyncio.open_connection(self.host, self.port)
        return self._reader, self._writer

    async def send(self, request: bytes) -> tuple[int, bytes]:
        """Send prepared request bytes; return the status and the (possibly compressed) body."""
        reader, writer = await self._open()
        writer.write(request)
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip().lower()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding") == "chunked":
            parts = []
            while True:
                size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
                parts.append(await reader.readexactly(size + 2))
                if size == 0:
                    break
            body = b"".join(p[:-2] for p in parts)
        else:
            body = await reader.read()
            headers["connection"] = "close"
        if headers.get("connection") == "close":
            self.close()
        return status, body

    def close(self) -> None:
        """Close the connection (the next request opens a new one)."""
        if self._writer is not None:
            self._writer.close()
        self._reader = self._writer = None
