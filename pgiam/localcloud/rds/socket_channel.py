"""A connection's bytes on an asyncio loop, with TLS done by OpenSSL itself.

asyncio's own TLS layer (``start_tls``, :mod:`asyncio.sslproto`) pushes every TLS record through
Python code (memory BIOs, protocol callbacks, stream buffers): for the LDAP hop of an IAM login,
one handshake and two short messages, that cost the daemon about 1.3 ms of CPU per login, more
than the token check itself (benchmarks/iam_logins.py). Here the socket is an
:class:`ssl.SSLSocket` in non-blocking mode: the handshake, the records and the encryption run
in C, and the loop is only asked to wake the coroutine when the socket is readable or writable.
(Written by hand: asyncio offers no such transport, and the alternatives, a thread per
connection or a TLS-terminating proxy, cost more.)
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl

DRAIN_READS = 16


class SocketChannel:
    """Non-blocking reads and writes of one accepted socket, plain or TLS, from coroutines."""

    def __init__(self, loop: asyncio.AbstractEventLoop, sock: socket.socket,
                 tls: ssl.SSLContext | None = None) -> None:
        sock.setblocking(False)
        self.loop = loop
        self.sock: socket.socket = (tls.wrap_socket(sock, server_side=True,
                                                    do_handshake_on_connect=False)
                                    if tls is not None else sock)
        self.fd = self.sock.fileno()

    async def _ready(self, readable: bool) -> None:
        """Until the socket can be read (``readable``) or written."""
        waiter = self.loop.create_future()

        def wake() -> None:
            if not waiter.done():
                waiter.set_result(None)

        if readable:
            self.loop.add_reader(self.fd, wake)
        else:
            self.loop.add_writer(self.fd, wake)
        try:
            await waiter
        finally:
            if readable:
                self.loop.remove_reader(self.fd)
            else:
                self.loop.remove_writer(self.fd)

    async def handshake(self) -> None:
        """The TLS handshake (nothing for a plain socket); ``ssl.SSLError`` if it fails."""
        if not isinstance(self.sock, ssl.SSLSocket):
            return
        while True:
            try:
                self.sock.do_handshake()
                return
            except ssl.SSLWantReadError:
                await self._ready(readable=True)
            except ssl.SSLWantWriteError:
                await self._ready(readable=False)

    async def read(self, size: int) -> bytes:
        """Up to ``size`` bytes; ``b""`` at the end of the stream."""
        while True:
            try:
                return self.sock.recv(size)
            except (ssl.SSLWantReadError, BlockingIOError, InterruptedError):
                await self._ready(readable=True)
            except ssl.SSLWantWriteError:
                await self._ready(readable=False)
            except ssl.SSLZeroReturnError:
                return b""

    async def write(self, data: bytes) -> None:
        """All of ``data``."""
        view = memoryview(data)
        while view:
            try:
                sent = self.sock.send(view)
            except (ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
                await self._ready(readable=False)
                continue
            except ssl.SSLWantReadError:
                await self._ready(readable=True)
                continue
            view = view[sent:]

    def close(self) -> None:
        """Closes the socket at once (no TLS close_notify). What the peer sent and nobody read
        (garbage after a failed handshake) is read off first, a bounded number of reads: closing
        a socket with unread data makes the kernel answer with a reset instead of the end of the
        stream. (``socket.socket.recv`` reads the raw bytes under an ``SSLSocket``.)"""
        with contextlib.suppress(OSError):
            for _ in range(DRAIN_READS):
                if not socket.socket.recv(self.sock, 65536):
                    break
        self.sock.close()
