"""Provider SDKs' lazily imported modules, made safe to load from two threads at once.

Generated provider SDKs (``pulumi_aws.ec2``, ...) are lazy modules: ``pulumi._utils.lazy_import``
gives a module object whose first attribute access runs the module. Its ``__getattribute__`` (a
copy of CPython's ``importlib.util._LazyModule`` before 3.12.3) switches the object to a plain
module *before* running it, so a second thread that touches the module meanwhile sees it half
loaded: ``AttributeError: module 'pulumi_aws.ec2' has no attribute 'SecurityGroup'``. Under the
mock runtime that second thread exists: the program builds resources on the main thread while
the mocks, on the SDK's worker threads, look up the classes of the resources registered so far
(:mod:`pgiam.program.sdk_types`). One public example in about fifty failed this way, at random.

:func:`make_lazy_modules_thread_safe` replaces that method with the one CPython 3.12.3 ships
(gh-114763): a lock per module; the first thread loads it while the others wait, and the module
stays lazy until it is whole. Written by hand because the fix lives only in newer CPython and
Pulumi keeps its own copy of the old class.
"""

from __future__ import annotations

import sys
import threading
import types
from typing import Any

_LOCKS: dict[str, threading.RLock] = {}
_LOCKS_GUARD = threading.Lock()
_LOADING = "pgiam_loading"


def _lock_for(name: str) -> threading.RLock:
    with _LOCKS_GUARD:
        lock = _LOCKS.get(name)
        if lock is None:
            lock = _LOCKS[name] = threading.RLock()
        return lock


def _thread_safe_getattribute(lazy_class: type, introspection: frozenset[str]) -> Any:
    def __getattribute__(self: types.ModuleType, attr: str) -> Any:  # noqa: N807
        if attr in introspection:
            return types.ModuleType.__getattribute__(self, attr)
        spec = types.ModuleType.__getattribute__(self, "__spec__")
        with _lock_for(spec.name):
            if types.ModuleType.__getattribute__(self, "__class__") is lazy_class:
                state = spec.loader_state
                if state.get(_LOADING):
                    # the loading thread itself, while the module runs: what exists so far
                    return types.ModuleType.__getattribute__(self, attr)
                state[_LOADING] = True
                _load(self, spec, state)
                if isinstance(self, lazy_class):
                    object.__setattr__(self, "__class__", types.ModuleType)
        return getattr(self, attr)

    return __getattribute__


def _load(module: types.ModuleType, spec: Any, state: dict[str, Any]) -> None:
    """What the lazy module's own method does: run the module, keep what was set on it before,
    refuse a module substituted in ``sys.modules`` meanwhile."""
    attrs_then = state["__dict__"]
    attrs_now = types.ModuleType.__getattribute__(module, "__dict__")
    updated = {key: value for key, value in attrs_now.items()
               if key not in attrs_then or attrs_now[key] is not attrs_then[key]}
    spec.loader.exec_module(module)
    if spec.name in sys.modules and sys.modules[spec.name] is not module:
        raise ValueError(f"module object for {spec.name!r} substituted in sys.modules during a lazy load")
    attrs_now.update(updated)


def make_lazy_modules_thread_safe() -> None:
    """Patch ``pulumi._utils._LazyModule`` (once per process; nothing if the SDK has none)."""
    try:
        import pulumi._utils as utils
    except ImportError:
        return
    lazy_class = getattr(utils, "_LazyModule", None)
    if lazy_class is None or getattr(lazy_class, "_pgiam_thread_safe", False):
        return
    introspection = frozenset(getattr(utils, "_INTROSPECTION_ATTRS", ()))
    lazy_class.__getattribute__ = _thread_safe_getattribute(lazy_class, introspection)
    lazy_class._pgiam_thread_safe = True
