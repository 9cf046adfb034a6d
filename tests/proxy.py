"""A TCP forwarder in front of a real server, cut to make that server "go away" for one
process without stopping it for the rest of the suite, or stalled to make it a black
hole (connections accepted, requests never answered)."""

from __future__ import annotations

import contextlib
import socket
import threading


class Proxy:
    def __init__(self, port: int, host: str = "127.0.0.1") -> None:
        self.target = (host, port)
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._open: list[socket.socket] = []
        self._lock = threading.Lock()
        self._cut = False
        self._stalled = threading.Event()
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return  # cut
            if self._cut:
                client.close()
                return
            if self._stalled.is_set():  # accepted, never answered
                with self._lock:
                    self._open.append(client)
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open += [client, upstream]
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    def _pipe(self, src: socket.socket, dst: socket.socket) -> None:
        with contextlib.suppress(OSError):
            while data := src.recv(65536):
                if self._stalled.is_set():
                    continue  # swallowed: the other side waits for an answer forever
                dst.sendall(data)
        if self._stalled.is_set():
            return  # nor is a close passed on (the server ending an idle keep-alive)
        with contextlib.suppress(OSError):
            dst.shutdown(socket.SHUT_WR)

    def stall(self) -> None:
        """Keep accepting, stop answering: what was sent from now on is never forwarded."""
        self._stalled.set()

    def cut(self) -> None:
        """Refuse new connections and drop the open ones."""
        self._cut = True
        with contextlib.suppress(OSError):  # wakes the thread blocked in accept()
            self._listener.shutdown(socket.SHUT_RDWR)
        self._listener.close()
        with self._lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
                sock.close()
