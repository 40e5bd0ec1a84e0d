"""SIGINT, SIGTERM and SIGHUP during a run: the first one stops the steps (it raises
:class:`RunInterrupted` in the main thread, so the step in progress unwinds) and the run goes
on to teardown; during teardown signals are recorded and otherwise ignored, because stopping a
teardown half-way is what leaves resources behind. The previous handlers come back afterwards.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from types import FrameType

HANDLED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


class RunInterrupted(KeyboardInterrupt):
    """A signal stopped the run's steps. Not an ``Exception``, so a step's ``except Exception``
    does not swallow it; a ``KeyboardInterrupt``, so asyncio re-raises it out of the event loop
    (the Pulumi runtime's) instead of storing it in the task it happened to interrupt."""

    def __init__(self, signum: int) -> None:
        self.signum = signum
        super().__init__(f"received {signal.Signals(signum).name}")

    @property
    def name(self) -> str:
        return signal.Signals(self.signum).name


class SignalGuard:
    """Installs the handlers for the duration of a ``with`` block (main thread only).

    ``on_interrupt`` runs inside the handler before :class:`RunInterrupted` is raised: it must be
    quick and only set flags (the local engine stops starting new resources)."""

    def __init__(self, on_interrupt: Callable[[int], None] | None = None,
                 announce: Callable[[str], None] | None = None) -> None:
        self.on_interrupt = on_interrupt
        self.announce = announce or (lambda text: None)
        self.received: list[int] = []
        self._tearing_down = False
        self._raised = False
        self._previous: dict[int, object] = {}

    @property
    def first_signal(self) -> str | None:
        return signal.Signals(self.received[0]).name if self.received else None

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        name = signal.Signals(signum).name
        if self._tearing_down or self._raised:
            self.announce(f"{name} received: teardown is running and will finish first")
            return
        self._raised = True
        self.announce(f"{name} received: stopping the steps, then tearing down")
        if self.on_interrupt is not None:
            self.on_interrupt(signum)
        raise RunInterrupted(signum)

    @property
    def tearing_down(self) -> bool:
        return self._tearing_down

    def teardown_mode(self) -> None:
        """From now on signals do not interrupt anything."""
        self._tearing_down = True

    def __enter__(self) -> SignalGuard:
        if threading.current_thread() is threading.main_thread():
            for signum in HANDLED:
                self._previous[signum] = signal.signal(signum, self._handle)
        return self

    def __exit__(self, *exc: object) -> None:
        for signum, handler in self._previous.items():
            signal.signal(signum, handler)  # type: ignore[arg-type]
        self._previous.clear()
