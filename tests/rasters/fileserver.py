"""A static file server on 127.0.0.1 for GDAL's /vsicurl/, /vsis3/ and /vsigs/: HTTP range requests, counted.

It serves ``<root>/<path>`` for ``GET``/``HEAD`` with ``Range: bytes=a-b`` (206) or whole (200); the S3
(path-style, ``AWS_S3_ENDPOINT``) and GCS (``CPL_GS_ENDPOINT``) URLs GDAL makes of ``s3://bucket/key`` and
``gs://bucket/key`` are ``/bucket/key``, so a folder ``<root>/<bucket>/`` is a bucket. Every request and the
bytes sent for it are logged, so a test can say how much of a file a header read fetched (``GET /_stats``
answers the counts, for a server in another process); ``latency`` waits before each answer (the benchmark's
20 ms a request).
"""

from __future__ import annotations

import json
import re
import socket
import sys
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from tests.localhttp import LocalHTTPServer, Served

_RANGE = re.compile(r"bytes=(\d+)-(\d*)$")


class FileServer(Served):
    """Serves ``root``; ``sent`` counts bytes by path, ``requests`` lists ``(method, path, range)``."""

    def __init__(self, root: Path, *, latency: float = 0.0) -> None:
        self.root = root
        self.latency = latency
        self.sent: Counter[str] = Counter()
        self.requests: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()
        self._http = LocalHTTPServer(self._handler())

    @property
    def host(self) -> str:
        """``127.0.0.1:<port>``, as ``AWS_S3_ENDPOINT`` wants it."""
        return self.url.split("://", 1)[1]

    def gdal_env(self) -> dict[str, str]:
        """The environment that points GDAL's /vsis3/ and /vsigs/ at this server, without signing."""
        return {"AWS_S3_ENDPOINT": self.host, "AWS_HTTPS": "NO", "AWS_VIRTUAL_HOSTING": "FALSE",
                "AWS_NO_SIGN_REQUEST": "YES", "CPL_GS_ENDPOINT": self.url + "/", "GS_NO_SIGN_REQUEST": "YES",
                "NO_PROXY": "127.0.0.1"}

    def reset(self) -> None:
        with self._lock:
            self.sent.clear()
            self.requests.clear()

    def _log(self, method: str, path: str, span: str | None, size: int) -> None:
        with self._lock:
            self.requests.append((method, path, span))
            self.sent[path] += size

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def setup(self) -> None:
                super().setup()
                # Headers and body go in separate writes: without this, Nagle and delayed ACKs add ~40 ms.
                self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
                return

            def _answer(self, body: bool) -> None:
                path = unquote(urlsplit(self.path).path)
                if path == "/_stats":  # the counters, for a server in another process (the benchmark)
                    with server._lock:
                        data = json.dumps({"requests": len(server.requests), "sent": sum(server.sent.values())})
                    if "reset" in self.path:
                        server.reset()
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data.encode())
                    return
                if server.latency:
                    time.sleep(server.latency)
                target = (server.root / path.lstrip("/")).resolve()
                if not target.is_file() or server.root.resolve() not in target.parents:
                    self.send_response(404)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    server._log(self.command, path, None, 0)
                    return
                size = target.stat().st_size
                span = self.headers.get("Range")
                match = _RANGE.match(span or "")
                start, end = (int(match.group(1)), int(match.group(2) or size - 1)) if match else (0, size - 1)
                end = min(end, size - 1)
                if match and start >= size:
                    self.send_response(416)
                    self.send_header("Content-Range", f"bytes */{size}")
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206 if match else 200)
                self.send_header("Content-Type", "image/tiff")
                self.send_header("Accept-Ranges", "bytes")
                self.send_header("Content-Length", str(end - start + 1))
                if match:
                    self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
                self.end_headers()
                sent = 0
                if body:
                    with target.open("rb") as handle:
                        handle.seek(start)
                        data = handle.read(end - start + 1)
                    try:
                        self.wfile.write(data)
                        sent = len(data)
                    except OSError:
                        self.close_connection = True
                server._log(self.command, path, span, sent)

            def do_GET(self) -> None:
                self._answer(True)

            def do_HEAD(self) -> None:
                self._answer(False)

        return Handler


if __name__ == "__main__":
    # python -m tests.rasters.fileserver ROOT LATENCY: serves until stdin closes; prints its URL first.
    with FileServer(Path(sys.argv[1]), latency=float(sys.argv[2])) as running:
        print(running.url, flush=True)
        sys.stdin.read()
