"""What the app does, independent of HTTP: the page's facts, setup, messages, readiness.

It owns the token provider and the pool; the web layer and ``check`` only translate.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from datetime import datetime, timezone

from app import database, repository
from app.errors import DependencyError
from app.identity import AwsClients, caller_identity, make_clients, rds_token_minter
from app.pool import ConnectionPool
from app.repository import Message
from app.settings import Settings
from app.tokens import TokenProvider

Clock = Callable[[], float]


class DemoService:
    def __init__(self, settings: Settings, clients: AwsClients, tokens: TokenProvider,
                 pool: ConnectionPool) -> None:
        self.settings = settings
        self.clients = clients
        self.tokens = tokens
        self.pool = pool

    @classmethod
    def build(cls, settings: Settings, *, clock: Clock = time.time, clients: AwsClients | None = None,
              pool_size: int = 4, max_connection_age: float = 600.0) -> DemoService:
        """Wire the real parts: boto3 clients from the default chain, the token cache, the pool."""
        clients = clients or make_clients(settings)
        tokens = TokenProvider(
            rds_token_minter(clients.rds, settings.db_host, settings.db_port, settings.db_user, settings.region),
            clock=clock)
        pool = ConnectionPool(functools.partial(database.connect, settings, tokens),
                              max_size=pool_size, max_age=max_connection_age, clock=clock)
        return cls(settings, clients, tokens, pool)

    def close(self) -> None:
        self.pool.close()

    def ready(self) -> None:
        """Raise a DependencyError unless a real query succeeds."""
        with self.pool.connection() as conn:
            repository.ping(conn)

    def info(self) -> dict[str, object]:
        """Everything the page shows; a failing part is reported in place, not raised."""
        facts: dict[str, object] = {
            "database": {"host": self.settings.db_host, "port": self.settings.db_port,
                         "name": self.settings.db_name, "user": self.settings.db_user,
                         "sslmode": self.settings.sslmode, "sslrootcert": self.settings.sslrootcert},
            "tls_warning": self.settings.tls_warning,
        }
        try:
            facts["identity"] = caller_identity(self.clients.sts).as_json()
        except DependencyError as exc:
            facts["identity"] = {"error": exc.reason, "stage": exc.stage}
        try:
            with self.pool.connection() as conn:
                facts["session"] = repository.session_info(conn).as_json()
        except DependencyError as exc:
            facts["session"] = {"error": exc.reason, "stage": exc.stage}
        facts["token"] = self.token_facts()
        stats = self.pool.stats()
        facts["pool"] = {"opened": stats.opened, "retired_old": stats.retired_old,
                         "discarded_broken": stats.discarded_broken, "idle": stats.idle}
        return facts

    def token_facts(self) -> dict[str, object] | None:
        token = self.tokens.current
        if token is None:
            return None
        now = datetime.fromtimestamp(self.tokens.now(), tz=timezone.utc)
        return {"minted_at": datetime.fromtimestamp(token.minted_at, tz=timezone.utc).isoformat(timespec="seconds"),
                "expires_at": token.expires_at.isoformat(),
                "seconds_left": int((token.expires_at - now).total_seconds()),
                "minted_count": self.tokens.minted}

    def setup(self) -> bool:
        with self.pool.connection() as conn:
            return repository.create_table(conn)

    def add_message(self, text: str) -> Message:
        with self.pool.connection() as conn:
            return repository.add_message(conn, text)

    def messages(self, limit: int) -> list[Message]:
        with self.pool.connection() as conn:
            return repository.list_messages(conn, limit)
