"""The EKS Pod Identity Agent of one cluster: an HTTP endpoint serving ``GET /v1/credentials``
as the agent does on ``169.254.170.23:80`` on each node. The pod sends its projected
service-account token (audience ``pods.eks.amazonaws.com``) in ``Authorization``; the agent
asks the EKS Auth model and answers in the container credentials format boto3's
``ContainerProvider`` reads (``AWS_CONTAINER_CREDENTIALS_FULL_URI`` +
``AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE``). Bound to 127.0.0.1: botocore accepts a plain-HTTP
full URI only for loopback hosts, ECS's 169.254.170.2 and EKS's 169.254.170.23 / fd00:ec2::23."""

from __future__ import annotations

import json
import logging
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from pgiam.localcloud.eks_auth import EksAuth, agent_answer

PATH = "/v1/credentials"
# one server for every cluster of the local cloud: /clusters/<name>/v1/credentials
CLUSTER_PATH = re.compile(r"^/clusters/([0-9A-Za-z][A-Za-z0-9_-]{0,99})/v1/credentials$")
LOG = logging.getLogger("pgiam.localcloud.pod_identity_agent")


class PodIdentityAgent:
    """One cluster's agent (``cluster_name``), or, without one, every cluster's under
    ``/clusters/<name>/v1/credentials``; ``start()`` binds a free loopback port."""

    def __init__(self, eks_auth: EksAuth, cluster_name: str | None, host: str = "127.0.0.1") -> None:
        self.eks_auth = eks_auth
        self.cluster_name = cluster_name
        agent = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                routed = CLUSTER_PATH.match(self.path) if agent.cluster_name is None else None
                cluster = routed.group(1) if routed else agent.cluster_name
                if cluster is None or (routed is None and self.path != PATH):
                    self._send(404, {"code": "NotFound", "message": "no such path; the agent serves "
                                     f"{PATH if agent.cluster_name else '/clusters/<name>' + PATH}"})
                    return
                status, body = agent_answer(agent.eks_auth, cluster, self.headers.get("Authorization"))
                LOG.info("cluster %s: credentials request -> %s %s", cluster, status, body.get("code", "ok"))
                self._send(status, body)

            def _send(self, status: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: object) -> None:  # the request line only; no headers
                LOG.debug("%s", format % args)

        self._server = ThreadingHTTPServer((host, 0), Handler)
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, cluster_name: str | None = None) -> str:
        """The full URI a pod of ``cluster_name`` puts in ``AWS_CONTAINER_CREDENTIALS_FULL_URI``."""
        if self.cluster_name is not None:
            return self.base_url + PATH
        if cluster_name is None:
            raise ValueError("an agent for every cluster needs the pod's cluster name")
        return f"{self.base_url}/clusters/{cluster_name}{PATH}"

    def start(self) -> PodIdentityAgent:
        self._thread = threading.Thread(target=self._server.serve_forever, name=f"pod-identity-agent-{self.cluster_name or 'all'}",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
