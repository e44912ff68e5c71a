"""A loopback TCP proxy for failure tests: forwards 127.0.0.1:<port> to a
server, and can freeze (stop forwarding while keeping every socket open, as a
hung network or a stopped process does) or drop (close every connection and
refuse new ones). `freeze_after_bytes` freezes by itself once that many bytes
went from clients to the server: in the middle of a COPY, deterministically."""

from __future__ import annotations

import contextlib
import selectors
import socket
import threading


class TcpProxy:
    def __init__(
        self, target_host: str, target_port: int, freeze_after_bytes: int | None = None
    ) -> None:
        self.target = (target_host, target_port)
        self.freeze_after_bytes = freeze_after_bytes
        self.bytes_to_server = 0
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.frozen = threading.Event()
        self.dropped = threading.Event()
        self.closed = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._thread = threading.Thread(target=self._accept, daemon=True)
        self._thread.start()

    def _accept(self) -> None:
        while not self.closed.is_set():
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if self.dropped.is_set():
                client.close()
                continue
            if self.frozen.is_set():
                with self._lock:
                    self._sockets.append(client)  # accepted, never answered
                continue
            try:
                upstream = socket.create_connection(self.target, timeout=5)
            except OSError:
                client.close()
                continue
            with self._lock:
                self._sockets += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()

    def _pump(self, a: socket.socket, b: socket.socket) -> None:
        sel = selectors.DefaultSelector()
        sel.register(a, selectors.EVENT_READ, b)
        sel.register(b, selectors.EVENT_READ, a)
        try:
            while not self.closed.is_set() and not self.dropped.is_set():
                if self.frozen.is_set():
                    self.closed.wait(0.2)  # hold the sockets, move nothing
                    continue
                for key, _ in sel.select(timeout=0.2):
                    data = key.fileobj.recv(65536)
                    if not data:
                        return
                    key.data.sendall(data)
                    if key.fileobj is a:
                        with self._lock:
                            self.bytes_to_server += len(data)
                            total = self.bytes_to_server
                        if self.freeze_after_bytes is not None and total >= self.freeze_after_bytes:
                            self.frozen.set()
                            break
        except OSError:
            return
        finally:
            sel.close()
            if not self.frozen.is_set() or self.dropped.is_set() or self.closed.is_set():
                for s in (a, b):
                    with contextlib.suppress(OSError):
                        s.close()

    def freeze(self) -> None:
        self.frozen.set()

    def drop(self) -> None:
        self.dropped.set()
        with self._lock:
            for s in self._sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                    s.close()
                except OSError:
                    pass
            self._sockets.clear()

    def close(self) -> None:
        self.closed.set()
        self.drop()
        with contextlib.suppress(OSError):
            self.listener.close()
