"""A local cloud extension for the lifecycle tests (loaded with ``up --extension``): intercepts
``iam:ListAccountAliases`` to rewrite moto's answer, and starts a child process recorded in the
process registry, as the RDS side does with its PostgreSQL servers."""

from __future__ import annotations

import signal
import subprocess
from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Response

from pgiam.localcloud.extensions import Cloud
from pgiam.localcloud.gateway import AwsRequest, MotoCall

ALIAS = "pgiam-probe-extension"


class ProbeExtension:
    name = "probe"

    def __init__(self) -> None:
        self.child: subprocess.Popen | None = None
        self.cloud: Cloud | None = None

    def start(self, cloud: Cloud) -> None:
        self.cloud = cloud
        workdir = cloud.directory(self.name)
        self.child = subprocess.Popen(["sleep", "600"], start_new_session=True, cwd=workdir)
        cloud.processes.register("probe-sleeper", self.child.pid, stop_signal=signal.SIGTERM,
                                 kill_group=True, paths=[workdir])
        cloud.gateway.register("iam", "ListAccountAliases", self.list_account_aliases)

    def list_account_aliases(self, request: AwsRequest, call_moto: MotoCall) -> Response:
        answer = call_moto(request)
        body = answer.get_data().replace(b"<AccountAliases>", f"<AccountAliases><member>{ALIAS}</member>".encode())
        answer.set_data(body)
        return answer

    def stop(self) -> None:
        if self.child is not None and self.cloud is not None:
            self.cloud.processes.stop("probe-sleeper")
            self.child.wait(timeout=5)
            self.child = None

    def info(self) -> Mapping[str, Any]:
        return {"child_pid": self.child.pid if self.child else None}


def create_extension() -> ProbeExtension:
    return ProbeExtension()
