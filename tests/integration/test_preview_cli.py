"""``pgiam preview`` on the project's own program (clean in both modes), with configuration and
policy configuration, and on inputs that cannot run: each exits 2 with one clear line, never a
traceback."""

from __future__ import annotations

import base64
import hashlib
import os
import textwrap

import pytest

from preview_runner import INFRA_CONFIG, PROGRAMS, ROOT, preview

INFRA = ROOT / "infra"


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_infra_is_clean_in_both_modes(mode):
    result = preview(INFRA, *INFRA_CONFIG, "--mode", mode)
    assert result.returncode == 0, result.stdout + result.stderr
    report = result.report
    assert report["violations"] == []
    assert report["policy_pack"] == {"name": "pgiam-iam-database-auth", "version": "0.1.0"}
    assert report["resources"] >= 40
    role = "urn:pulumi:dev::iam-postgres::iampg:index:RdsCluster$aws:iam/role:Role::db-irsa"
    if mode == "preview":
        assert ("irsa-trust-subject", role) in result.deferred()
    else:
        assert report["deferred"] == []


def test_a_dev_environment_is_public_unless_the_stack_is_allowed(tmp_path):
    dev = ("--config", "iam-postgres:environment=dev", "--mode", "up")
    result = preview(INFRA, *INFRA_CONFIG, *dev)
    writer = ("urn:pulumi:dev::iam-postgres::iampg:index:RdsCluster$"
              "aws:rds/clusterInstance:ClusterInstance::db-writer")
    assert result.returncode == 1
    assert result.violations("mandatory") == {("rds-not-publicly-accessible", writer)}
    config = tmp_path / "policy.json"
    config.write_text('{"rds-not-publicly-accessible": {"allowedStacks": ["dev", "e2e-*"]}}')
    allowed = preview(INFRA, *INFRA_CONFIG, *dev, "--policy-config", str(config))
    assert allowed.returncode == 0 and allowed.report["violations"] == []
    other_stack = preview(INFRA, *INFRA_CONFIG, *dev, "--stack", "prod",
                          "--policy-config", str(config))
    assert other_stack.returncode == 1


def test_readable_report_names_policy_urn_and_fix():
    result = preview(PROGRAMS / "rds_mistakes", json_output=False)
    assert result.returncode == 1
    assert "Mandatory violations" in result.stdout and "FAILED" in result.stdout
    assert "[rds-iam-auth-enabled] urn:pulumi:dev::rds-mistakes::aws:rds/cluster:Cluster::" \
           "no-iam-auth" in result.stdout
    assert "Fix: set iam_database_authentication_enabled=True" in result.stdout


def _encrypt(key: bytes, text: str) -> str:
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    nonce = os.urandom(12)
    return (f"v1:{base64.b64encode(nonce).decode()}:"
            f"{base64.b64encode(AESGCM(key).encrypt(nonce, text.encode(), None)).decode()}")


def test_passphrase_secured_stack_config_reaches_the_program(tmp_path):
    """A stack file as `pulumi config set --secret` writes it with the passphrase provider; the
    decrypted value reaches the program (here: a static key the pack must find)."""
    salt = os.urandom(8)
    key = hashlib.pbkdf2_hmac("sha256", b"integration passphrase", salt, 1_000_000, 32)
    (tmp_path / "Pulumi.yaml").write_text("name: secrets\nruntime: python\n")
    (tmp_path / "Pulumi.qa.yaml").write_text(textwrap.dedent(f"""\
        encryptionsalt: v1:{base64.b64encode(salt).decode()}:{_encrypt(key, "pulumi")}
        config:
          secrets:awsKeyId:
            secure: {_encrypt(key, "AKIAIOSFODNN7EXAMPLE")}
        """))
    (tmp_path / "__main__.py").write_text(textwrap.dedent("""\
        import pulumi
        import pulumi_kubernetes as k8s

        key = pulumi.Config().require_secret("awsKeyId")
        k8s.core.v1.Secret("creds", string_data={"AWS_ACCESS_KEY_ID": key})
        """))
    env = {**os.environ, "PULUMI_CONFIG_PASSPHRASE": "integration passphrase"}
    result = preview(tmp_path, "--stack", "qa", env=env)
    assert result.returncode == 1, result.stderr
    [violation] = result.report["violations"]
    assert violation["policy"] == "kubernetes-no-static-aws-credentials"
    assert "the access key id AKIA************MPLE" in violation["message"]
    assert "AKIAIOSFODNN7EXAMPLE" not in result.stdout
    env.pop("PULUMI_CONFIG_PASSPHRASE")
    placeholder = preview(tmp_path, "--stack", "qa", env=env)
    [violation] = placeholder.report["violations"]
    assert "under 'AWS_ACCESS_KEY_ID'" in violation["message"]
    assert any("secrets:awsKeyId is a secure value" in w for w in placeholder.report["warnings"])


def test_program_output_does_not_corrupt_the_json_report(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: chatty\nruntime: python\n")
    (tmp_path / "__main__.py").write_text("import pulumi\nprint('hello from the program')\n"
                                          "pulumi.export('x', 1)\n")
    result = preview(tmp_path)
    assert result.returncode == 0 and result.report["resources"] == 1


def _project(tmp_path, pulumi_yaml: str, main: str = "import pulumi\n"):
    (tmp_path / "Pulumi.yaml").write_text(pulumi_yaml)
    (tmp_path / "__main__.py").write_text(main)
    return tmp_path


def test_a_policy_document_that_is_not_json_is_a_violation_on_its_resource(tmp_path):
    _project(tmp_path, "name: notjson\nruntime: python\n", textwrap.dedent("""\
        import pulumi_aws as aws

        role = aws.iam.Role("app", assume_role_policy="{'Statement': []}")
        aws.iam.RolePolicy("connect", role=role.id, policy="rds-db:connect on everything")
        """))
    for mode in ("preview", "up"):
        result = preview(tmp_path, "--mode", mode)
        assert result.returncode == 1, result.stderr
        assert result.violations("mandatory") == {
            ("iam-policy-document-valid", "urn:pulumi:dev::notjson::aws:iam/role:Role::app"),
            ("iam-policy-document-valid",
             "urn:pulumi:dev::notjson::aws:iam/rolePolicy:RolePolicy::connect")}
        assert all("not JSON" in v["message"] for v in result.report["violations"])


def _needs_plain_config(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(
        "name: needs\nruntime: python\nconfig:\n  needs:vpcId:\n    type: string\n")
    (tmp_path / "__main__.py").write_text("import pulumi\npulumi.Config().require('vpcId')\n")
    return tmp_path


def test_the_readme_command_previews_infra_with_a_placeholder_for_its_secret():
    result = preview(INFRA)
    assert result.returncode == 0, result.stderr
    assert result.report["violations"] == []
    assert any(warning.startswith("iam-postgres:masterPassword is a required secret that is not "
                                  "set: previewed with a placeholder")
               for warning in result.report["warnings"])


def _broken_pack(tmp_path):
    pack = tmp_path / "pack"
    pack.mkdir()
    (pack / "PulumiPolicy.yaml").write_text("runtime: python\n")
    (pack / "__main__.py").write_text("import module_that_does_not_exist\n")
    return pack


@pytest.mark.parametrize("make_args, message", [
    (lambda t: (PROGRAMS / "program_raises",),
     "program_raises failed: ValueError: '10.0.0.0/33' does not appear to be an IPv4 or IPv6 "
     "network (at helpers.py:5)"),
    (lambda t: (INFRA, *INFRA_CONFIG, "--config", "iam-postgres:namespace=Demo"),
     "failed: iam-postgres:namespace: is not a valid Kubernetes namespace name"),
    (lambda t: (PROGRAMS / "stack_reference", "--mode", "up"),
     "--mode up needs them, pass --stack-output acme/platform/prod:KEY=VALUE"),
    (lambda t: (PROGRAMS / "stack_reference", "--stack-output", "acme/platform/prod"),
     "--stack-output 'acme/platform/prod': expected STACK:KEY=VALUE"),
    (lambda t: (t,), "is not a Pulumi project: no Pulumi.yaml"),
    (lambda t: (_needs_plain_config(t),), "missing configuration value 'needs:vpcId'"),
    (lambda t: (INFRA, *INFRA_CONFIG, "--policy-pack", str(t / "missing")),
     "policy pack directory"),
    (lambda t: (INFRA, *INFRA_CONFIG, "--policy-pack", str(_broken_pack(t))),
     "failed to start: ModuleNotFoundError: No module named 'module_that_does_not_exist'"),
    (lambda t: (INFRA, *INFRA_CONFIG, "--policy-config", str(t / "none.json")),
     "cannot read the policy config"),
    (lambda t: (_project(t, "name: web\nruntime: nodejs\n"),),
     "runtime is 'nodejs'; only Python programs"),
    (lambda t: (_project(t, "name: [web\n"),), "Pulumi.yaml: line 2 is not valid YAML"),
    (lambda t: (INFRA, "--config", "masterPassword"), "--config 'masterPassword': expected KEY=VALUE"),
    (lambda t: (INFRA, *INFRA_CONFIG, "--policy-pack", str(INFRA / "Pulumi.yaml")),
     "is not a directory"),
    (lambda t: (_project(t, "name: typed\nruntime: python\n",
                         "import pulumi_kubernetes as k8s\n"
                         "k8s.core.v1.Secret('s', string_data=['not', 'a', 'map'])\n"),),
     "AssertionError: While processing resource: 's'"),
], ids=["program-raises", "program-run-error", "stack-reference-up-without-outputs", "stack-output-malformed", "not-a-project",
        "missing-config", "pack-missing", "pack-fails-to-start", "policy-config-missing",
        "nodejs-runtime", "invalid-pulumi-yaml", "malformed-config-flag", "pack-is-a-file",
        "multi-line-sdk-error"])
def test_inputs_that_cannot_run_exit_2_with_one_clear_line(tmp_path, make_args, message):
    args = list(make_args(tmp_path))
    program, rest = args[0], args[1:]
    pack_args = []
    if "--policy-pack" in rest:
        index = rest.index("--policy-pack")
        pack_args = ["pack", rest[index + 1]]
        rest = rest[:index] + rest[index + 2:]
    kwargs = {"pack": pack_args[1]} if pack_args else {}
    result = preview(program, *rest, **kwargs)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("pgiam preview: error: ")
    assert len(result.stderr.strip().splitlines()) == 1
