"""A small, bounded connection pool that never keeps a connection past ``max_age``.

psycopg2's own pools keep connections forever and do not notice broken ones; here a connection
older than ``max_age`` (on the injected clock) is closed instead of reused, so the next one logs
in with a fresh token; an idle connection is checked with one round trip before it is reused (the
server may have closed it); a connection that broke while in use is discarded and the failure
reported as DatabaseUnreachable. Written by hand because it is this small; the clock is
injectable for the refresh tests.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import psycopg2
import psycopg2.extensions

from app.errors import DatabaseUnreachable, PoolExhausted

log = logging.getLogger(__name__)

DEFAULT_MAX_SIZE = 4
DEFAULT_MAX_AGE = 600.0


@dataclass
class _Pooled:
    conn: psycopg2.extensions.connection
    opened_at: float


@dataclass
class PoolStats:
    opened: int = 0
    retired_old: int = 0
    discarded_broken: int = 0
    idle: int = 0
    in_use: int = 0


class ConnectionPool:
    def __init__(self, connect: Callable[[], psycopg2.extensions.connection], *,
                 max_size: int = DEFAULT_MAX_SIZE, max_age: float = DEFAULT_MAX_AGE,
                 clock: Callable[[], float] = time.monotonic, acquire_timeout: float = 15.0) -> None:
        if max_size < 1:
            raise ValueError("max_size must be at least 1")
        self._connect = connect
        self._max_age = max_age
        self._clock = clock
        self._acquire_timeout = acquire_timeout
        self._slots = threading.BoundedSemaphore(max_size)
        self._lock = threading.Lock()
        self._idle: deque[_Pooled] = deque()
        self._stats = PoolStats()

    @contextmanager
    def connection(self) -> Iterator[psycopg2.extensions.connection]:
        """A connection for the block; it goes back to the pool afterwards unless it broke."""
        if not self._slots.acquire(timeout=self._acquire_timeout):
            raise PoolExhausted(f"all database connections stayed busy for {self._acquire_timeout:.0f} s")
        try:
            pooled = self._take_idle() or self._open()
            with self._lock:
                self._stats.in_use += 1
            try:
                yield pooled.conn
            except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:
                self._give_back(pooled, failed_with=exc)
                raise DatabaseUnreachable("the database connection failed: " + " ".join(str(exc).split())) from None
            except BaseException as exc:
                self._give_back(pooled, failed_with=exc)
                raise
            else:
                self._give_back(pooled, failed_with=None)
        finally:
            self._slots.release()

    def stats(self) -> PoolStats:
        with self._lock:
            return PoolStats(self._stats.opened, self._stats.retired_old, self._stats.discarded_broken,
                             len(self._idle), self._stats.in_use)

    def close(self) -> None:
        with self._lock:
            while self._idle:
                _close_quietly(self._idle.popleft().conn)

    def _open(self) -> _Pooled:
        conn = self._connect()
        with self._lock:
            self._stats.opened += 1
        return _Pooled(conn, self._clock())

    def _take_idle(self) -> _Pooled | None:
        """The most recently returned idle connection that is young enough and still answers."""
        while True:
            with self._lock:
                if not self._idle:
                    return None
                pooled = self._idle.pop()
                too_old = self._clock() - pooled.opened_at >= self._max_age
            if too_old:
                self._count("retired_old")
            elif pooled.conn.closed or not _alive(pooled.conn):
                self._count("discarded_broken")
            else:
                return pooled
            _close_quietly(pooled.conn)

    def _count(self, what: str) -> None:
        with self._lock:
            setattr(self._stats, what, getattr(self._stats, what) + 1)

    def _give_back(self, pooled: _Pooled, failed_with: BaseException | None) -> None:
        with self._lock:
            self._stats.in_use -= 1
        broken = pooled.conn.closed or isinstance(failed_with, (psycopg2.OperationalError, psycopg2.InterfaceError))
        if not broken:
            try:
                pooled.conn.rollback()  # no transaction leaks into the next user of the connection
            except psycopg2.Error:
                broken = True
        if broken:
            log.info("discarding a broken database connection")
            self._count("discarded_broken")
            _close_quietly(pooled.conn)
            return
        with self._lock:
            self._idle.append(pooled)


def _alive(conn: psycopg2.extensions.connection) -> bool:
    """Whether an idle connection still works: the server may have closed it (restart, failover,
    idle timeout, pg_terminate_backend) without the client noticing. One round trip."""
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        conn.rollback()
    except psycopg2.Error:
        return False
    return True


def _close_quietly(conn: psycopg2.extensions.connection) -> None:
    """Close, ignoring the errors of a connection that is already gone."""
    try:
        conn.close()
    except psycopg2.Error:
        pass
