"""A TCP proxy on 127.0.0.1 that a test can stall or take down, standing for a database that does so."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

_POLL = 0.05


class FaultyProxy:
    """Forwards connections to ``upstream`` until told otherwise.

    ``stall()`` stops forwarding in both directions (a paused or hung server: connections open, nothing
    answers); ``down()`` closes every connection and stops listening (connections refused); ``heal()`` undoes
    either. Used as a context manager it starts, and at exit heals and stops, so no test leaves it broken.
    """

    def __init__(self, host: str, port: int) -> None:
        self.upstream = (host, port)
        self.stalled = threading.Event()
        self.stopped = threading.Event()
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listener = self._listen(0)
        self.port = self._listener.getsockname()[1]

    def _listen(self, port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        listener.settimeout(_POLL)
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()
        return listener

    def __enter__(self) -> FaultyProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self.heal()
        self.stopped.set()
        self._close_all()
        self._listener.close()

    def stall(self) -> None:
        """Hold every byte from now on, in both directions."""
        self.stalled.set()

    def down(self) -> None:
        """Reset every connection and refuse new ones."""
        self._listener.close()
        self._close_all()

    def heal(self) -> None:
        """Forward again (and listen again on the same port after :meth:`down`)."""
        self.stalled.clear()
        if self._listener.fileno() == -1:
            self._listener = self._listen(self.port)

    def _close_all(self) -> None:
        with self._lock:
            for sock in self._sockets:
                with contextlib.suppress(OSError):  # a reset, as when the server process dies
                    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
                    sock.close()
            self._sockets.clear()

    def _accept(self, listener: socket.socket) -> None:
        while not self.stopped.is_set():
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by down() or exit
                return
            try:
                server = socket.create_connection(self.upstream, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, server]
            for source, target in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(source, target), daemon=True).start()

    def _pump(self, source: socket.socket, target: socket.socket) -> None:
        source.settimeout(_POLL)
        while not self.stopped.is_set():
            if self.stalled.is_set():
                time.sleep(_POLL)
                continue
            try:
                data = source.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                break
            if not data:
                break
            while self.stalled.is_set() and not self.stopped.is_set():
                time.sleep(_POLL)
            try:
                target.sendall(data)
            except OSError:
                break
        for sock in (source, target):
            with contextlib.suppress(OSError):
                sock.close()
