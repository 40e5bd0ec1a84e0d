"""The LDAP simple-bind responder PostgreSQL's ``ldap`` authentication asks. Protocol translation
only: it reads a BindRequest, hands the bind DN's user and resource id and the password (the IAM
token) to an injected ``authenticate``, and answers success (0) or invalidCredentials (49) with
no diagnostic message. An UnbindRequest, anything else, garbage, an oversized message or a
silent client closes the connection; other connections are served meanwhile.

The responder speaks LDAP over TLS (``ldaps``, the TLS handshake first, done by OpenSSL on a
non-blocking socket: :mod:`.socket_channel`) when given a server context: PostgreSQL's
``pg_hba.conf`` names ``ldapscheme=ldaps`` and its libldap verifies the certificate against the
checker's pinned one (:mod:`.checker_tls`; ``LDAPTLS_CACERT``, ``LDAPTLS_REQCERT=demand`` in the
postmaster's environment), so a process that binds the port while the daemon is gone cannot
answer "success" for a login: the database accepts only what this checker accepted.

Capacity: idle connections are cheap (asyncio), but bounded. When a connection arrives at the
limit, the connection that has been idle longest (no byte received for the longest time: a
flood's sockets, not a login in progress, which sends its bind within milliseconds) is closed to
make room; only when none can be closed is the new one refused, and the log says so, naming the
lack of capacity. Every read has a deadline (``read_timeout``), the TLS handshake included.

LDAP messages are BER. The framing (tag and length of the outer SEQUENCE) is read first, so that
the size is known and bounded before the body is buffered; :mod:`.ldap_messages` decodes and
encodes the messages themselves (why by hand: see there).

The responder runs its own asyncio loop in a thread and calls ``authenticate`` (the token check,
a few hundred microseconds of pure computation over in-memory state) on the loop itself: handing
it to a thread pool would add two thread switches per login and, under the GIL, gain nothing.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import socket
import ssl
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from pgiam.localcloud.rds.hba import parse_bind_dn
from pgiam.localcloud.rds.ldap_messages import BindRequest, MalformedMessage, bind_response, decode_request
from pgiam.localcloud.rds.socket_channel import SocketChannel

log = logging.getLogger("pgiam.localcloud.rds.ldap")

# PostgreSQL accepts passwords up to 65535 bytes (PG_MAX_AUTH_TOKEN_LENGTH); the DN is short
MAX_MESSAGE_BYTES = 72 * 1024
READ_TIMEOUT = 5.0
MAX_MESSAGES_PER_CONNECTION = 4
MAX_CONNECTIONS = 1024
SUCCESS = 0
PROTOCOL_ERROR = 2
AUTH_METHOD_NOT_SUPPORTED = 7
INVALID_CREDENTIALS = 49

Authenticate = Callable[[str, str, bytes], bool]
"""``authenticate(user, resource_id, password) -> accepted``; it logs its own reasons."""


class FramingError(Exception):
    """The peer sent something that is not a bounded LDAP message."""


def frame(buffer: bytes) -> tuple[int, int] | None:
    """``(header size, body size)`` of the BER SEQUENCE that starts ``buffer`` (tag 0x30, definite
    length in short or long form up to 4 bytes); None while the header is incomplete. Raises
    :class:`FramingError` on anything else."""
    if not buffer:
        return None
    if buffer[0] != 0x30:
        raise FramingError("not a SEQUENCE")
    if len(buffer) < 2:
        return None
    first = buffer[1]
    if first < 0x80:
        return 2, first
    count = first & 0x7F
    if count == 0 or count > 4:
        raise FramingError("indefinite or oversized length")
    if len(buffer) < 2 + count:
        return None
    return 2 + count, int.from_bytes(buffer[2:2 + count], "big")


@dataclass(eq=False)
class Connection:
    """One open connection: its task, and when it last received a byte (or was accepted)."""

    task: asyncio.Task
    peer: str
    last_activity: float = field(default_factory=time.monotonic)

    def touch(self) -> None:
        self.last_activity = time.monotonic()


class MessageReader:
    """Whole LDAP messages from a stream (``read(size)``, ``b""`` at its end), each at most
    ``limit`` bytes, read in as few reads as the peer's writes allow."""

    def __init__(self, read: Callable[[int], Awaitable[bytes]], limit: int = MAX_MESSAGE_BYTES,
                 on_data: Callable[[], None] | None = None) -> None:
        self.read = read
        self.limit = limit
        self.buffer = bytearray()
        self.on_data = on_data

    async def next(self) -> bytes | None:
        """The next message, or None at a clean end of stream."""
        while True:
            sizes = frame(bytes(self.buffer[:6]))
            if sizes is not None:
                header, body = sizes
                if body > self.limit:
                    raise FramingError(f"message of {body} bytes exceeds {self.limit}")
                if len(self.buffer) >= header + body:
                    message = bytes(self.buffer[:header + body])
                    del self.buffer[:header + body]
                    return message
                wanted = header + body - len(self.buffer)
            else:
                wanted = 4096
            chunk = await self.read(max(wanted, 4096))
            if not chunk:
                if self.buffer:
                    raise FramingError("truncated message")
                return None
            if self.on_data is not None:
                self.on_data()
            self.buffer += chunk


class LdapResponder:
    """An LDAP server on a loopback port that only knows simple binds."""

    def __init__(self, authenticate: Authenticate, *, host: str = "127.0.0.1", port: int = 0,
                 read_timeout: float = READ_TIMEOUT, tls: ssl.SSLContext | None = None,
                 max_connections: int = MAX_CONNECTIONS) -> None:
        self.authenticate = authenticate
        self.host = host
        self.requested_port = port
        self.read_timeout = read_timeout
        self.tls = tls
        self.max_connections = max_connections
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._listener: socket.socket | None = None
        self._accepting: asyncio.Task | None = None
        self._thread: threading.Thread | None = None
        self._connections: dict[asyncio.Task, Connection] = {}

    def start(self) -> int:
        """Bind and serve from a background thread; returns the port."""
        self._listener = socket.create_server((self.host, self.requested_port), backlog=1024)
        self._listener.setblocking(False)
        self.port = int(self._listener.getsockname()[1])
        self._accepting = self._loop.create_task(self._accept(self._listener))
        self._thread = threading.Thread(target=self._loop.run_forever, name="rds-ldap", daemon=True)
        self._thread.start()
        return self.port

    def stop(self) -> None:
        if self._thread is None:
            return

        async def shutdown() -> None:
            tasks = [task for task in (self._accepting, *self._connections) if task is not None]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self._listener is not None:
                self._listener.close()

        try:
            asyncio.run_coroutine_threadsafe(shutdown(), self._loop).result(timeout=5)
        except (concurrent.futures.TimeoutError, RuntimeError):
            log.warning("LDAP responder did not close its listener in time")
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self._thread = None
        self._loop.close()

    def _make_room(self) -> bool:
        """At the limit: close the longest-idle connection; False if there is none to close."""
        if not self._connections:
            return False
        oldest = min(self._connections.values(), key=lambda connection: connection.last_activity)
        del self._connections[oldest.task]
        oldest.task.cancel()
        log.warning("LDAP: %d connections open (the limit); closed the one idle longest (%.1f s, from %s) "
                    "to serve a new one", self.max_connections, time.monotonic() - oldest.last_activity,
                    oldest.peer)
        return True

    async def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                sock, peer = await self._loop.sock_accept(listener)
            except OSError as exc:  # out of descriptors: the connection waits in the backlog
                log.warning("LDAP: cannot accept a connection now (%s)", exc)
                await asyncio.sleep(0.05)
                continue
            self._loop.create_task(self._serve(sock, peer))

    async def _serve(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        task = asyncio.current_task()
        assert task is not None
        connection = Connection(task, f"{peer[0]}:{peer[1]}")
        channel: SocketChannel | None = None
        try:
            if len(self._connections) >= self.max_connections and not self._make_room():
                log.warning("LDAP: refusing a connection for lack of capacity: %d connections open, none "
                            "idle; the login it carries fails", len(self._connections))
                return
            self._connections[task] = connection
            channel = SocketChannel(self._loop, sock, self.tls)
            async with asyncio.timeout(self.read_timeout):
                await channel.handshake()
            connection.touch()
            await self._conversation(channel, connection)
        except FramingError as exc:
            log.info("LDAP: closing a connection that sent no valid message (%s)", exc)
        except MalformedMessage as exc:
            log.info("LDAP: closing a connection whose message does not decode (%s)", exc)
        except asyncio.TimeoutError:
            log.info("LDAP: closing a connection silent for %.0f s", self.read_timeout)
        except ssl.SSLError as exc:
            log.info("LDAP: closing a connection whose TLS handshake failed (%s)", exc.reason or exc)
        except (OSError, asyncio.CancelledError):
            pass  # the peer went away, it was closed to make room, or the responder is stopping
        finally:
            self._connections.pop(task, None)
            if channel is not None:
                channel.close()
            else:
                sock.close()

    async def _conversation(self, channel: SocketChannel, connection: Connection) -> None:
        messages = MessageReader(channel.read, on_data=connection.touch)
        for _ in range(MAX_MESSAGES_PER_CONNECTION):
            async with asyncio.timeout(self.read_timeout):
                data = await messages.next()
            if data is None:
                return
            request = decode_request(data)
            if not isinstance(request, BindRequest):
                return  # an unbind ends the conversation; nothing else is served
            async with asyncio.timeout(self.read_timeout):
                await channel.write(bind_response(request.message_id, self._bind(request)))

    def _bind(self, request: BindRequest) -> int:
        if request.version != 3:
            return PROTOCOL_ERROR
        if request.method != "simple":
            return AUTH_METHOD_NOT_SUPPORTED
        try:
            dn = request.name.decode("utf-8")
        except UnicodeDecodeError:
            dn = ""
        parsed = parse_bind_dn(dn)
        if parsed is None:
            log.info("LDAP: refusing a bind whose DN is not one the local RDS servers send")
            return INVALID_CREDENTIALS
        if not request.password:  # an unauthenticated bind (RFC 4513 5.1.2) is never a login
            return INVALID_CREDENTIALS
        user, resource_id = parsed
        try:
            accepted = self.authenticate(user, resource_id, request.password)
        except Exception:  # a bug in the check refuses the login, never admits it
            log.exception("LDAP: the authentication check failed")
            return INVALID_CREDENTIALS
        return SUCCESS if accepted else INVALID_CREDENTIALS
