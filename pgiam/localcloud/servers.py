"""HTTP(S) servers of the daemon: werkzeug's threaded WSGI server on a loopback port the kernel
picks, serving from a background thread.

Two departures from werkzeug's defaults: the request line (whose query string may carry a token)
is never logged, and TLS handshakes happen in the connection's own thread with a timeout, so a
client that connects and stays silent cannot stall the accept loop.
"""

from __future__ import annotations

import logging
import re
import ssl
import threading
from typing import Any

from moto.moto_server.werkzeug_app import MotoRequestHandler
from werkzeug.serving import ThreadedWSGIServer

log = logging.getLogger("pgiam.localcloud.http")
QUERY_STRING = re.compile(r"\?[^\s'\"]*")
LOOPBACK = "127.0.0.1"
HANDSHAKE_TIMEOUT = 10.0
POLL_INTERVAL = 0.05


class QuietRequestHandler(MotoRequestHandler):
    """moto's handler (it keeps header names with underscores), minus the request-line log."""

    def log_request(self, code: Any = "-", size: Any = "-") -> None:
        return None

    def log(self, type: str, message: str, *args: Any) -> None:  # noqa: A002 - werkzeug's name
        text = message % args if args else message
        # a malformed request line may be quoted in the message: never its query string
        text = QUERY_STRING.sub("?...", text)[:200]
        log.log(logging.ERROR if type == "error" else logging.INFO, "%s %s", self.address_string(), text)

    def setup(self) -> None:
        context = getattr(self.server, "tls_context", None)
        if context is not None:
            self.request.settimeout(HANDSHAKE_TIMEOUT)
            self.request = context.wrap_socket(self.request, server_side=True)
            self.request.settimeout(None)
        super().setup()


class LoopbackServer(ThreadedWSGIServer):
    """Threaded WSGI server on 127.0.0.1; ``tls_context`` makes it HTTPS."""

    def __init__(self, app: Any, *, port: int = 0, tls_context: ssl.SSLContext | None = None) -> None:
        self.tls_context = tls_context
        super().__init__(LOOPBACK, port, app, handler=QuietRequestHandler)
        self._thread: threading.Thread | None = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # a failed TLS handshake or a client that went away: one line, not a traceback on stderr
        log.info("connection from %s ended with an error", client_address[0] if client_address else "?",
                 exc_info=log.isEnabledFor(logging.DEBUG))

    @property
    def bound_port(self) -> int:
        return int(self.server_address[1])

    def start(self, name: str) -> None:
        self._thread = threading.Thread(target=self.serve_forever, kwargs={"poll_interval": POLL_INTERVAL},
                                        name=name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
        self.server_close()


def tls_server_context(cert_file: str, key_file: str) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_cert_chain(cert_file, key_file)
    return context

