"""A provider SDK's lazy module touched by two threads at once: the second waits for the first
to finish loading it instead of seeing it half loaded (the mock runtime's worker threads look up
SDK classes while the program's thread builds resources)."""

from __future__ import annotations

import sys
import textwrap
import threading
from pathlib import Path

import pytest

from pgiam.program.lazy_imports import make_lazy_modules_thread_safe

pytestmark = pytest.mark.unit


def test_two_threads_loading_one_lazy_module_both_see_it_whole(tmp_path: Path, pulumi_sdk) -> None:
    import pulumi._utils as utils

    make_lazy_modules_thread_safe()
    (tmp_path / "slow_provider_module.py").write_text(textwrap.dedent("""
        import time
        time.sleep(0.3)          # a big generated module takes a while to run
        class SecurityGroup:
            pass
    """))
    sys.path.insert(0, str(tmp_path))
    try:
        module = utils.lazy_import("slow_provider_module")
        seen: dict[str, object] = {}

        def touch(name: str) -> None:
            try:
                seen[name] = module.SecurityGroup
            except AttributeError as error:  # what the unpatched lazy module gives the second thread
                seen[name] = error

        threads = [threading.Thread(target=touch, args=(name,)) for name in ("program", "mocks")]
        threads[0].start()
        threads[1].start()
        for thread in threads:
            thread.join(timeout=10)
        assert seen["program"] is seen["mocks"]
        assert isinstance(seen["program"], type)
        assert type(module) is type(sys)   # loaded: a plain module now
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("slow_provider_module", None)


def test_patching_twice_changes_nothing(pulumi_sdk) -> None:
    import pulumi._utils as utils

    make_lazy_modules_thread_safe()
    method = utils._LazyModule.__getattribute__
    make_lazy_modules_thread_safe()
    assert utils._LazyModule.__getattribute__ is method
