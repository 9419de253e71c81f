"""A TCP relay in front of a real service that a test can cut: its open connections dropped, then, after a
pause, either passing traffic again (the service came back) or answering every request with an HTTP 503 (a
store starting up: SeaweedFS answers 500 until its filer is up). The faults of a network and a restart,
on demand and on time, where killing the real service takes seconds to come back and cannot be timed."""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from videoflix.devservices import LOOPBACK, free_port

UNAVAILABLE = b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


class Relay:
    def __init__(self, target_port: int):
        self.target_port = target_port
        self.port = free_port()
        self.unavailable = False
        self.relayed = 0  # bytes from the service to clients
        self._cuts = 0
        self._links: list[socket.socket] = []
        self._lock = threading.Lock()
        self._listen()

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    def _listen(self) -> None:
        with self._lock:
            self._server = socket.create_server((LOOPBACK, self.port))
            listening = (self._server, self._cuts)
        threading.Thread(target=self._accept, args=listening, daemon=True).start()

    def _accept(self, server: socket.socket, cuts: int) -> None:
        while True:
            try:
                client, _ = server.accept()
            except OSError:  # closed by cut()
                return
            if self.unavailable:
                with contextlib.suppress(OSError):
                    client.recv(65536)
                    client.sendall(UNAVAILABLE)
                client.close()
                continue
            upstream = socket.create_connection((LOOPBACK, self.target_port))
            with self._lock:
                if cuts != self._cuts:  # cut meanwhile: this connection goes with the rest
                    client.close()
                    upstream.close()
                    continue
                self._links += [client, upstream]
            threading.Thread(target=self._pump, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._pump, args=(upstream, client, True), daemon=True).start()

    def _pump(self, source: socket.socket, sink: socket.socket, counted: bool = False) -> None:
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                sink.sendall(data)
                if counted:
                    self.relayed += len(data)
        with contextlib.suppress(OSError):
            sink.shutdown(socket.SHUT_WR)

    def wait_for(self, relayed: int, timeout: float = 60.0) -> None:
        """Until `relayed` bytes have gone to clients."""
        deadline = time.monotonic() + timeout
        while self.relayed < relayed:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {self.relayed} bytes relayed in {timeout} s")
            time.sleep(0.05)

    def cut(self, pause: float, then_unavailable: bool = False) -> None:
        """Drop every connection and refuse new ones for `pause` seconds; then relay again, or answer 503."""
        with self._lock:
            self._cuts += 1
            self._stop_listening()
            links, self._links = self._links, []
        for link in links:
            with contextlib.suppress(OSError):
                link.shutdown(socket.SHUT_RDWR)
            link.close()
        time.sleep(pause)
        self.unavailable = then_unavailable
        self._listen()

    def _stop_listening(self) -> None:
        with contextlib.suppress(OSError):
            self._server.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: only then is the port free
        self._server.close()

    def close(self) -> None:
        self._stop_listening()
        with self._lock:
            for link in self._links:
                link.close()
