"""What every stand-in provider server shares: a threaded HTTP server on 127.0.0.1 and a free port, and JSON replies.

Each stand-in (``tests/<provider>/standin.py``) keeps only its protocol: its routes, envelopes, paging and errors.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class JsonHandler(BaseHTTPRequestHandler):
    """A request handler that answers JSON and logs nothing."""

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class names it so
        return

    def read_body(self) -> bytes:
        """The request body (empty when there is none)."""
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_json(self, status: int, document: Any, headers: dict[str, str] | None = None, *,
                  content_type: str = "application/json") -> None:
        """Answer ``document`` as JSON with ``status`` and extra ``headers``."""
        self.send_bytes(status, json.dumps(document).encode(), headers, content_type=content_type)

    def send_bytes(self, status: int, data: bytes, headers: dict[str, str] | None = None, *,
                   content_type: str = "application/json") -> None:
        """Answer raw bytes labelled as JSON (a stand-in may send a cut-short body on purpose)."""
        try:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except OSError:
            # The client went away (a timeout test): nothing more to say to it.
            self.close_connection = True


class LocalHTTPServer:
    """Serves ``handler`` on 127.0.0.1 and a free port, in a background thread, for a ``with`` block."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, poll_interval: float = 0.05) -> None:
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        # Tests reset and time out connections on purpose: their tracebacks are noise.
        self.server.handle_error = lambda request, address: None  # type: ignore[method-assign]
        self._thread = threading.Thread(
            target=self.server.serve_forever, kwargs={"poll_interval": poll_interval}, daemon=True
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> LocalHTTPServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)


class Served:
    """A stand-in served by its ``_http`` :class:`LocalHTTPServer`: ``with`` starts and stops it."""

    _http: LocalHTTPServer

    def __enter__(self) -> Self:
        self._http.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._http.__exit__(*exc)

    @property
    def url(self) -> str:
        """The stand-in's root URL."""
        return self._http.url
