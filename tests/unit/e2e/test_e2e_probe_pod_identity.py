"""The in-pod probe under EKS Pod Identity: botocore's real container credentials provider
against an agent endpoint (a loopback HTTP server here): credentials for the pod's own token,
the agent's refusal (with its code) for another's."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pgiam.e2e import probes

pytestmark = pytest.mark.unit

GOOD_TOKEN = "token-of-the-associated-service-account"


@pytest.fixture
def agent():
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            if self.headers.get("Authorization") == GOOD_TOKEN:
                status, body = 200, {"AccessKeyId": "ASIAEXAMPLEEXAMPLE01",
                                     "SecretAccessKey": "secret", "Token": "session",
                                     "Expiration": "2099-01-01T00:00:00Z"}
            else:
                status, body = 400, {"code": "ResourceNotFoundException",
                                     "message": "No Pod Identity Association found."}
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/v1/credentials"
    server.shutdown()


def _pod_env(monkeypatch, tmp_path, agent_url, token):
    token_file = tmp_path / "eks-pod-identity-token"
    token_file.write_text(token)
    for name in ("AWS_ROLE_ARN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ACCESS_KEY_ID",
                 "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", agent_url)
    monkeypatch.setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", str(token_file))
    monkeypatch.setenv("AWS_REGION", "us-east-1")


def test_another_service_accounts_token_is_refused_with_the_agents_code(monkeypatch, tmp_path,
                                                                       agent):
    _pod_env(monkeypatch, tmp_path, agent, "token-of-another-service-account")
    result = probes.assume_role({"kind": "assume-role", "label": "intruder"})
    assert result["result"] == "refused", result
    assert result["code"] == "ResourceNotFoundException"
    assert "token-of-another" not in json.dumps(result)


def test_the_pods_own_token_gets_credentials_from_the_container_provider(monkeypatch, tmp_path,
                                                                        agent):
    """Positive control: the same agent serves the associated token (the caller-identity call
    then fails offline, which the probe reports as an error, never as refused)."""
    from botocore.credentials import ContainerProvider

    _pod_env(monkeypatch, tmp_path, agent, GOOD_TOKEN)
    credentials = ContainerProvider().load()
    assert credentials.get_frozen_credentials().access_key == "ASIAEXAMPLEEXAMPLE01"
