"""A local cloud extension whose start fails, for the test that ``up`` reports it clearly."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pgiam.localcloud.extensions import Cloud


class BrokenExtension:
    name = "broken"

    def start(self, cloud: Cloud) -> None:
        raise RuntimeError("the probe database refused to initialise")

    def stop(self) -> None:
        return None

    def info(self) -> Mapping[str, Any]:
        return {}


def create_extension() -> BrokenExtension:
    return BrokenExtension()
