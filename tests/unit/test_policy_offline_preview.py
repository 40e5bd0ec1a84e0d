"""The pure parts of ``pgiam preview``: reading a Pulumi project and its stack configuration (as
the CLI does, secure values included) and the report's exit code. Everything that needs the
Pulumi SDK's protobuf messages (policy configuration, findings, the pack's servicer) and running
programs and packs is in tests/integration/test_preview_*.py: importing the SDK costs a unit
worker half a second."""

from __future__ import annotations

import base64
import json
import os

import pytest

from pgiam.errors import PgiamError
from pgiam.program import loader
from pgiam.program.loader import (
    PLACEHOLDER_SECRET,
    load_project,
    load_stack_config,
    parse_config_overrides,
)


def write(path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


@pytest.fixture
def project(tmp_path):
    write(tmp_path / "Pulumi.yaml", """
name: shop
runtime:
  name: python
  options: {virtualenv: venv}
config:
  region: {type: string, default: eu-west-1}
  replicas: {type: integer, default: 2}
  password: {type: string, secret: true}
  aws:region: {value: eu-west-1}
""")
    write(tmp_path / "__main__.py", "")
    return tmp_path


def test_project_config_defaults_stack_file_and_overrides(project):
    write(project / "Pulumi.prod.yaml", """
config:
  shop:replicas: 3
  shop:password: hunter2-but-plain
  shop:tags: {team: db, on: yes, enabled: true}
  aws:region: us-east-1
""")
    config = load_stack_config(load_project(project), "prod",
                               parse_config_overrides(["region=eu-central-1", "extra=a=b"]))
    assert config.values == {"shop:region": "eu-central-1", "shop:replicas": "3",
                             "shop:password": "hunter2-but-plain", "aws:region": "us-east-1",
                             "shop:tags": json.dumps({"enabled": True, "on": "yes",
                                                      "team": "db"}, sort_keys=True),
                             "shop:extra": "a=b"}
    assert config.secret_keys == {"shop:password"}
    assert json.loads(config.environment()["PULUMI_CONFIG"])["shop:replicas"] == "3"


def test_missing_required_key_names_it_and_how_to_set_it(project):
    with pytest.raises(PgiamError, match="missing configuration value 'shop:password'.*--config"):
        load_stack_config(load_project(project), "dev")


def test_secure_values_without_passphrase_become_marked_placeholders(project, monkeypatch):
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE", raising=False)
    monkeypatch.delenv("PULUMI_CONFIG_PASSPHRASE_FILE", raising=False)
    write(project / "Pulumi.dev.yaml", "secretsprovider: awskms://alias/x\nconfig:\n"
                                       "  shop:password:\n    secure: AAABAQ==\n")
    config = load_stack_config(load_project(project), "dev")
    assert config.values["shop:password"] == PLACEHOLDER_SECRET
    assert config.placeholders == ("shop:password",) and "shop:password" in config.secret_keys
    overridden = load_stack_config(load_project(project), "dev", {"password": "real"})
    assert overridden.values["shop:password"] == "real" and overridden.placeholders == ()


def _encrypt(key: bytes, text: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    sealed = AESGCM(key).encrypt(nonce, text.encode(), None)
    return f"v1:{base64.b64encode(nonce).decode()}:{base64.b64encode(sealed).decode()}"


def test_passphrase_stacks_are_decrypted_like_the_cli(project, monkeypatch):
    import hashlib

    monkeypatch.setattr(loader, "_PBKDF2_ITERATIONS", 1000)   # the real 1,000,000 in integration
    salt = b"saltsalt"
    key = hashlib.pbkdf2_hmac("sha256", b"correct horse", salt, 1000, 32)
    state = f"v1:{base64.b64encode(salt).decode()}:{_encrypt(key, 'pulumi')}"
    write(project / "Pulumi.dev.yaml", f"encryptionsalt: {state}\nconfig:\n"
                                       f"  shop:password:\n    secure: {_encrypt(key, 'p4ss')}\n")
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "correct horse")
    config = load_stack_config(load_project(project), "dev")
    assert config.values["shop:password"] == "p4ss" and config.placeholders == ()
    monkeypatch.setenv("PULUMI_CONFIG_PASSPHRASE", "wrong")
    with pytest.raises(PgiamError, match="incorrect passphrase"):
        load_stack_config(load_project(project), "dev")


@pytest.mark.parametrize("setup, message", [
    (lambda d: None, "not a Pulumi project: no Pulumi.yaml"),
    (lambda d: write(d / "Pulumi.yaml", "name: x\nruntime: nodejs\n"), "only Python programs"),
    (lambda d: write(d / "Pulumi.yaml", "name: x\nruntime: python\n"), "__main__.py"),
    (lambda d: write(d / "Pulumi.yaml", "name: [\n"), "not valid YAML"),
    (lambda d: write(d / "Pulumi.yaml", "name: 'a b'\nruntime: python\n"), "name must be"),
])
def test_directories_that_are_not_python_projects_are_refused(tmp_path, setup, message):
    setup(tmp_path)
    with pytest.raises(PgiamError, match=message):
        load_project(tmp_path)


def test_main_and_stack_config_dir_are_honoured(tmp_path):
    write(tmp_path / "Pulumi.yaml", "name: x\nruntime: python\nmain: src/\n"
                                    "stackConfigDir: stacks\n")
    write(tmp_path / "src" / "__main__.py", "")
    write(tmp_path / "stacks" / "Pulumi.qa.yaml", "config:\n  x:mode: fast\n")
    project = load_project(tmp_path)
    assert project.main == (tmp_path / "src").resolve()
    assert load_stack_config(project, "qa").values == {"x:mode": "fast"}


@pytest.mark.parametrize("items", [["novalue"], ["=x"], ["a b:c=1"]])
def test_malformed_config_overrides_are_refused(items):
    with pytest.raises(PgiamError, match="--config"):
        parse_config_overrides(items)


# ---- the report ---------------------------------------------------------------------------

def test_exit_code_is_one_only_for_mandatory_violations():
    from pgiam.preview.analysis import Finding, PackInfo
    from pgiam.preview.report import PreviewReport

    report = PreviewReport("p", "dev", "preview", PackInfo("pack", "1"), 3,
                           violations=[Finding("a", "advisory", "urn:x", "m")],
                           deferred=[Finding("b", "deferred", "urn:y", "n")])
    assert report.exit_code == 0 and "PASSED" in report.to_text()
    assert set(report.as_json()) >= {"violations", "resources", "policy_pack", "deferred"}
    report.violations.append(Finding("c", "mandatory", "urn:z", "o"))
    assert report.exit_code == 1 and "FAILED: 1 mandatory" in report.to_text()


def test_data_sources_that_look_up_another_stacks_resources_are_answered():
    from pgiam.program.synth import CloudContext, synthesize_call

    context = CloudContext(region="eu-west-1")
    cluster = synthesize_call(context, "aws:eks/getCluster:getCluster", {"name": "platform"})
    issuer = cluster["identities"][0]["oidcs"][0]["issuer"]
    assert issuer.startswith("https://oidc.eks.eu-west-1.amazonaws.com/id/")
    provider = synthesize_call(
        context, "aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider", {"url": issuer})
    assert provider["arn"] == f"arn:aws:iam::123456789012:oidc-provider/{provider['url']}"
    assert not provider["url"].startswith("https://")
    database = synthesize_call(context, "aws:rds/getCluster:getCluster",
                               {"clusterIdentifier": "orders"})
    assert database["clusterIdentifier"] == "orders"
    assert database["clusterResourceId"].startswith("cluster-")
    instance = synthesize_call(context, "aws:rds/getInstance:getInstance",
                               {"dbInstanceIdentifier": "pg"})
    assert instance["dbiResourceId"].startswith("db-")
    assert synthesize_call(context, "aws:iam/getRole:getRole", {"name": "node"})["arn"] \
        == "arn:aws:iam::123456789012:role/node"


def test_manifests_decode_as_the_kubernetes_provider_does():
    from pgiam.program.synth import CloudContext, synthesize_call, synthesize_resource

    text = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\n---\nkind: Secret\n"
    result = synthesize_call(CloudContext(), "kubernetes:yaml:decode", {"text": text})
    assert [item["kind"] for item in result["result"]] == ["ConfigMap", "Secret"]
    _, proxy = synthesize_resource(CloudContext(), "aws:rds/proxy:Proxy", "px",
                                   {"engineFamily": "POSTGRESQL"})
    assert proxy["arn"].rsplit(":", 1)[-1].startswith("prx-")
