"""Target ``aws``: the program deployed to a real AWS account with Pulumi's Automation API (the
Pulumi CLI and the AWS credentials of the environment; CI gets them through OIDC), steps 4 and 5
run as Kubernetes Jobs in the stack's EKS cluster, plus the AWS-only checks of step 6.

Kubernetes is driven with ``kubectl`` and the stack's kubeconfig (which authenticates with
``aws eks get-token``, so the AWS CLI is needed too). Decision: ``kubectl`` rather than the
``kubernetes`` Python client: the client is not a dependency of this project, ``kubectl`` is on
every CI image and on any machine that operates EKS, and the handful of calls a run makes
(apply, wait, logs, delete) gain nothing from an in-process client.

Nothing here runs on a machine without those tools: :func:`missing_prerequisites` names what is
missing and the CLI stops with exit code 2 before anything is created.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from pgiam.e2e import checks
from pgiam.e2e.checks import CheckFailure
from pgiam.e2e.engine.pod_identity import POD_IDENTITY_REFUSALS, pod_identity_intruder
from pgiam.e2e.naming import STACK_TAG, StackName, new_stack_name, parse_stack_name
from pgiam.e2e.report import StepRecord
from pgiam.e2e.run import Step, StepFailed

# The EKS Pod Identity Agent on every node (EKS User Guide: 169.254.170.23, port 80).
EKS_AGENT_URL = "http://169.254.170.23/v1/credentials"
from pgiam.errors import PgiamError

RDS_CA_BUNDLE_URL = "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
CHECKIP_URL = "https://checkip.amazonaws.com"
JOB_TIMEOUT = 300
ROLLOUT_TIMEOUT = 600
LOAD_BALANCER_TIMEOUT = 600.0
CLI_STOP_TIMEOUT = 1200.0
DESTROY_ATTEMPTS = 3


def pulumi_children() -> list[int]:
    """Pids of the Pulumi CLI processes this process started (the Automation API's)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            raw = (entry / "stat").read_text()
        except OSError:
            continue
        name = raw[raw.find("(") + 1:raw.rfind(")")]
        fields = raw[raw.rfind(")") + 2:].split()
        if name == "pulumi" and len(fields) > 1 and int(fields[1]) == os.getpid():
            found.append(int(entry.name))
    return found


def delivered_by_terminal(signum: int) -> bool:
    """Whether the terminal sent ``signum`` to the CLI as well: a Ctrl-C goes to the whole
    foreground process group, the Automation API's Pulumi CLI included. Forwarding it again
    would be the CLI's second Ctrl-C, which abandons the update with pending operations."""
    return signum == signal.SIGINT and terminal_foreground_group() == os.getpgrp()


def terminal_foreground_group() -> int | None:
    """The foreground process group of this process's controlling terminal, if it has one."""
    try:
        fd = os.open("/dev/tty", os.O_RDONLY | os.O_NOCTTY)
    except OSError:
        return None
    try:
        return os.tcgetpgrp(fd)
    except OSError:
        return None
    finally:
        os.close(fd)


class AwsPrerequisiteError(PgiamError):
    exit_code = 2


def missing_prerequisites(environ: dict[str, str] | None = None) -> list[str]:
    """What the aws target needs and this machine lacks, each as a sentence."""
    import boto3

    environ = dict(os.environ if environ is None else environ)
    missing = []
    path = environ.get("PATH")
    if shutil.which("pulumi", path=path) is None:
        missing.append("the Pulumi CLI (`pulumi` is not on PATH; see "
                       "https://www.pulumi.com/docs/install/)")
    if shutil.which("kubectl", path=path) is None:
        missing.append("kubectl (steps 4 and 5 run as Kubernetes Jobs)")
    if shutil.which("aws", path=path) is None:
        missing.append("the AWS CLI (`aws`; the stack's kubeconfig authenticates with "
                       "`aws eks get-token`)")
    if boto3.session.Session().get_credentials() is None:
        missing.append("AWS credentials (none in the environment, shared files, web identity "
                       "or instance metadata; in CI use aws-actions/configure-aws-credentials)")
    if not (environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION")):
        missing.append("an AWS region (set AWS_REGION)")
    return missing


def check_prerequisites() -> None:
    missing = missing_prerequisites()
    if missing:
        raise AwsPrerequisiteError("the aws target cannot run here; missing: " +
                                   "; ".join(missing))


# ------------------------------------------------------------------------------------------
# Jobs (pure: manifests from the Deployment's pod template)
# ------------------------------------------------------------------------------------------

def job_manifest(name: str, namespace: str, template: dict[str, Any], command: list[str],
                 *, service_account: str | None = None,
                 secret_env: dict[str, tuple[str, str]] | None = None) -> dict[str, Any]:
    """A Job running ``command`` in a pod like the Deployment's: same image, environment,
    volumes and service account (or ``service_account``), no probes, no restarts.
    ``secret_env`` maps a variable to (secret name, key)."""
    pod = json.loads(json.dumps(template))
    spec = pod.setdefault("spec", {})
    labels = {"app.kubernetes.io/part-of": "pgiam-e2e", "pgiam-e2e/job": name}
    pod["metadata"] = {"labels": labels}
    if service_account is not None:
        spec["serviceAccountName"] = service_account
    spec["restartPolicy"] = "Never"
    container = spec["containers"][0]
    spec["containers"] = [container]
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        container.pop(probe, None)
    container.pop("ports", None)
    container["command"] = command
    container.pop("args", None)
    for variable, (secret, key) in (secret_env or {}).items():
        container.setdefault("env", []).append(
            {"name": variable, "valueFrom": {"secretKeyRef": {"name": secret, "key": key}}})
    return {"apiVersion": "batch/v1", "kind": "Job",
            "metadata": {"name": name, "namespace": namespace, "labels": labels},
            "spec": {"backoffLimit": 0, "ttlSecondsAfterFinished": 600,
                     "activeDeadlineSeconds": JOB_TIMEOUT, "template": pod}}


def simulator_cases(role_arn: str, region: str, resource_id: str, user: str,
                    master_user: str) -> list[tuple[str, str, bool]]:
    """(label, resource ARN, must be allowed) for IAM's policy simulator: the exact dbuser ARN
    is allowed; a wider one (every user of the cluster, the user on every cluster) and another
    user are not."""
    parts = role_arn.split(":")
    partition, account = parts[1], parts[4]
    base = f"arn:{partition}:rds-db:{region}:{account}:dbuser"
    return [("the exact dbuser ARN", f"{base}:{resource_id}/{user}", True),
            ("every user of the cluster", f"{base}:{resource_id}/*", False),
            ("the user on every cluster", f"{base}:*/{user}", False),
            ("the master user", f"{base}:{resource_id}/{master_user}", False)]


# ------------------------------------------------------------------------------------------
# kubectl
# ------------------------------------------------------------------------------------------

@dataclass
class Kubectl:
    kubeconfig: Path

    def run(self, *args: str, stdin: str | None = None, timeout: float = 120.0,
            check: bool = True) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(["kubectl", "--kubeconfig", str(self.kubeconfig), *args],
                                input=stdin, capture_output=True, text=True, timeout=timeout)
        if check and result.returncode != 0:
            raise StepFailed(f"kubectl {' '.join(args[:3])} failed: "
                             f"{result.stderr.strip()[-400:]}")
        return result

    def apply(self, manifest: dict[str, Any]) -> None:
        self.run("apply", "-f", "-", stdin=json.dumps(manifest))

    def run_job(self, manifest: dict[str, Any], timeout: float = JOB_TIMEOUT
                ) -> tuple[bool, str]:
        """Apply the Job, wait until it completes or fails, return (succeeded, its logs); the
        Job is deleted afterwards."""
        name, namespace = manifest["metadata"]["name"], manifest["metadata"]["namespace"]
        self.apply(manifest)
        try:
            deadline = time.monotonic() + timeout
            succeeded = False
            while time.monotonic() < deadline:
                status = json.loads(self.run("get", "job", name, "-n", namespace, "-o",
                                             "json").stdout).get("status") or {}
                if status.get("succeeded"):
                    succeeded = True
                    break
                if status.get("failed"):
                    break
                time.sleep(3)
            logs = self.run("logs", f"job/{name}", "-n", namespace, "--tail=200",
                            check=False).stdout
            return succeeded, logs
        finally:
            self.run("delete", "job", name, "-n", namespace, "--wait=false",
                     "--ignore-not-found", check=False)


# ------------------------------------------------------------------------------------------
# The target
# ------------------------------------------------------------------------------------------

@dataclass
class AwsOptions:
    program: Path
    prefix: str
    app_image: str | None = None
    deployer_cidr: str | None = None
    # The user's --config (full keys); never a key the run sets itself (stack_config.RUN_KEYS).
    config: dict[str, str] = field(default_factory=dict)


class AwsTarget:
    name = "aws"

    def __init__(self, options: AwsOptions, stack_name: StackName | None = None) -> None:
        check_prerequisites()
        self.options = options
        self.stack_name = stack_name or new_stack_name(options.prefix)
        self.stack = str(self.stack_name)
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or ""
        self.master_password = secrets.token_urlsafe(24)
        self.workdir = Path(tempfile.mkdtemp(prefix=f"pgiam-e2e-{self.stack}-"))
        self.pulumi_stack: Any = None
        self.outputs: dict[str, Any] = {}
        self.kubectl: Kubectl | None = None
        self.master_user = "pgadmin"
        self.interrupted_cli: list[int] = []

    # -- runner protocol ----------------------------------------------------------------

    def steps(self) -> list[Step]:
        return [
            Step(1, "stack", "unique stack name and config (Automation API)", self._stack),
            Step(2, "deploy", "pulumi up", self._deploy, ("stack",)),
            Step(3, "rollout", "kubectl rollout status of the demo Deployment", self._rollout,
                 ("deploy",)),
            Step(4, "pod-check", "the connect flow in a Job like the pod", self._pod_check,
                 ("rollout",)),
            Step(4, "http-api", "the app's HTTP API through its load balancer", self._http_api,
                 ("pod-check",)),
            Step(5, "other-service-account", "another service account of the namespace "
                 "cannot assume the role", self._other_service_account, ("rollout",)),
            Step(5, "password-login", "the IAM database user cannot log in with a password",
                 self._password_login, ("rollout",)),
            Step(5, "expired-token", "an expired token is refused", self._expired_token,
                 ("rollout",)),
            Step(5, "other-db-user", "the role cannot log in as another database user",
                 self._other_db_user, ("rollout",)),
            Step(6, "idempotent-up", "a second pulumi up reports no changes",
                 self._idempotent_up, ("deploy",)),
            Step(6, "iam-auth-enabled", "describe_db_clusters reports IAM auth on",
                 self._iam_auth_enabled, ("deploy",)),
            Step(6, "policy-simulator", "IAM's policy simulator allows the exact dbuser ARN "
                 "and denies wider ones", self._policy_simulator, ("deploy",)),
        ]

    def teardown_steps(self) -> list[Step]:
        return [Step(7, "destroy", "pulumi destroy and stack rm", self._destroy),
                Step(7, "verify-clean", "nothing tagged with the stack is left",
                     self._verify_clean)]

    def interrupt(self, signum: int) -> None:
        """Pass the stop on to a running Pulumi CLI as SIGINT: it lets the operations under way
        finish, records them and exits, so the stack is not left locked with pending creates
        (a SIGTERM sent to this process alone would otherwise leave the CLI running)."""
        forward = not delivered_by_terminal(signum)
        for pid in pulumi_children():
            if forward:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGINT)
            self.interrupted_cli.append(pid)

    def public_outputs(self) -> dict[str, Any]:
        return {key: value for key, value in self.outputs.items() if key != "kubeconfig"}

    # -- helpers ------------------------------------------------------------------------

    def _stream(self, record: StepRecord) -> Any:
        return lambda line: record.log(line.rstrip())

    def _deployment(self) -> tuple[str, str, dict[str, Any]]:
        assert self.kubectl is not None
        namespace = str(self.outputs.get("namespace"))
        listing = json.loads(self.kubectl.run("get", "deployments", "-n", namespace, "-o",
                                              "json").stdout)
        items = listing.get("items") or []
        if not items:
            raise StepFailed(f"no Deployment in namespace {namespace!r}")
        deployment = items[0]
        return namespace, deployment["metadata"]["name"], deployment["spec"]["template"]

    def _job(self, template: dict[str, Any], namespace: str, command: list[str],
             record: StepRecord, **options: Any) -> tuple[bool, str]:
        assert self.kubectl is not None
        name = f"pgiam-e2e-{secrets.token_hex(4)}"
        succeeded, logs = self.kubectl.run_job(job_manifest(name, namespace, template, command,
                                                            **options))
        for line in logs.strip().splitlines():
            record.log(line)
        return succeeded, logs

    # -- steps --------------------------------------------------------------------------

    def _stack(self, record: StepRecord) -> str:
        from pulumi import automation as auto

        from pgiam.program.loader import load_project

        project = load_project(self.options.program)
        stack = auto.create_or_select_stack(stack_name=self.stack,
                                            work_dir=str(self.options.program))
        self.pulumi_stack = stack
        ca_file = self.workdir / "rds-global-bundle.pem"
        with urllib.request.urlopen(RDS_CA_BUNDLE_URL, timeout=30) as answer:  # noqa: S310
            ca_file.write_bytes(answer.read())
        cidr = self.options.deployer_cidr
        if not cidr:
            with urllib.request.urlopen(CHECKIP_URL, timeout=30) as answer:  # noqa: S310
                cidr = f"{answer.read().decode().strip()}/32"
        config = {
            **{key: auto.ConfigValue(value) for key, value in self.options.config.items()},
            "aws:region": auto.ConfigValue(self.region),
            project.full_key("environment"): auto.ConfigValue("dev"),
            project.full_key("masterPassword"): auto.ConfigValue(self.master_password,
                                                                 secret=True),
            project.full_key("dbCaBundleFile"): auto.ConfigValue(str(ca_file)),
        }
        if self.options.app_image:
            config[project.full_key("appImage")] = auto.ConfigValue(self.options.app_image)
        stack.set_all_config(config)
        stack.set_config(f"aws:defaultTags.tags.{STACK_TAG}", auto.ConfigValue(self.stack),
                         path=True)
        stack.set_config(f"{project.full_key('dbAllowedCidrs')}[0]", auto.ConfigValue(cidr),
                         path=True)
        self.master_user = self.options.config.get(project.full_key("masterUsername"), "pgadmin")
        record.details.update({"region": self.region, "deployer_cidr": cidr})
        return f"stack {self.stack} in {self.region}; deployer {cidr} may reach the database"

    def _deploy(self, record: StepRecord) -> str:
        from pulumi import automation as auto

        try:
            result = self.pulumi_stack.up(color="never", on_output=self._stream(record))
        except auto.CommandError as error:
            raise StepFailed(f"pulumi up failed: {str(error).strip().splitlines()[-1]}") from None
        self.outputs = {key: value.value for key, value in self.pulumi_stack.outputs().items()}
        kubeconfig = self.workdir / "kubeconfig.json"
        kubeconfig.write_text(json.dumps(self.outputs["kubeconfig"])
                              if not isinstance(self.outputs["kubeconfig"], str)
                              else self.outputs["kubeconfig"], encoding="utf-8")
        kubeconfig.chmod(0o600)
        self.kubectl = Kubectl(kubeconfig)
        changes = result.summary.resource_changes or {}
        return f"pulumi up: {dict(changes)}"

    def _rollout(self, record: StepRecord) -> str:
        assert self.kubectl is not None
        namespace, name, _ = self._deployment()
        result = self.kubectl.run("rollout", "status", f"deployment/{name}", "-n", namespace,
                                  f"--timeout={ROLLOUT_TIMEOUT}s", timeout=ROLLOUT_TIMEOUT + 30,
                                  check=False)
        record.log(result.stdout + result.stderr)
        if result.returncode != 0:
            described = self.kubectl.run("describe", "pods", "-n", namespace, check=False)
            logs = self.kubectl.run("logs", f"deployment/{name}", "-n", namespace, "--tail=100",
                                    check=False)
            raise StepFailed(f"deployment/{name} not ready: {result.stderr.strip()[-300:]}",
                             logs=(described.stdout + logs.stdout).splitlines())
        return f"deployment/{name} rolled out"

    def _pod_check(self, record: StepRecord) -> str:
        namespace, _, template = self._deployment()
        succeeded, logs = self._job(template, namespace,
                                    ["python", "-m", "app", "check", "--json"], record)
        report = next((json.loads(line) for line in reversed(logs.strip().splitlines())
                       if line.startswith("{")), {})
        if succeeded and report.get("ok"):
            session = report.get("session") or {}
            containers = (template.get("spec") or {}).get("containers") or [{}]
            env = {item.get("name"): item.get("value") for item in containers[0].get("env") or []}
            try:
                checks.judge_tls_mode(env.get("PGSSLMODE"))
                checks.judge_identity(report.get("identity") or {}, session,
                                      str(self.outputs.get("iamRoleArn") or ""),
                                      str(self.outputs.get("iamDbUser") or ""))
            except CheckFailure as failure:
                raise StepFailed(str(failure)) from None
            return (f"connected as {session.get('current_user')} with role "
                    f"{(report.get('identity') or {}).get('role')}")
        failed = report.get("failed") or {}
        why = str(failed.get("reason", logs.strip()[-300:]))
        raise StepFailed(f"the connect flow failed at {failed.get('stage', '?')}: {why}"
                         f"{checks.login_hint(why)}")

    def _http_api(self, record: StepRecord) -> str:
        from pgiam.e2e.http_api import exercise, wait_reachable

        url = str(self.outputs.get("appUrl") or "")
        if not url:
            raise StepFailed("the stack has no appUrl output")
        try:
            wait_reachable(url, LOAD_BALANCER_TIMEOUT)
            role = checks.role_name(str(self.outputs["iamRoleArn"]))
            message, lines, details = exercise(url, role, self.outputs.get("iamDbUser"))
        except CheckFailure as failure:
            raise StepFailed(str(failure)) from None
        for line in lines:
            record.log(line)
        record.details.update(details)
        return message

    def _probe(self, attempts: list[dict[str, Any]], record: StepRecord,
               service_account: str | None = None,
               pod_identity_agent: str | None = None) -> list[dict[str, Any]]:
        assert self.kubectl is not None
        namespace, _, template = self._deployment()
        if pod_identity_agent:
            template = pod_identity_intruder(template, pod_identity_agent, self.region)
        secret = f"pgiam-e2e-probe-{secrets.token_hex(3)}"
        self.kubectl.apply({"apiVersion": "v1", "kind": "Secret", "type": "Opaque",
                            "metadata": {"name": secret, "namespace": namespace},
                            "stringData": {"master": self.master_password,
                                           "wrong": secrets.token_urlsafe(18)}})
        try:
            command = ["python", "-c", checks.probe_source(), checks.spec(attempts)]
            _, logs = self._job(template, namespace, command, record,
                                service_account=service_account,
                                secret_env={checks.PASSWORD_ENV: (secret, "master"),
                                            checks.WRONG_PASSWORD_ENV: (secret, "wrong")})
        finally:
            self.kubectl.run("delete", "secret", secret, "-n", namespace, "--ignore-not-found",
                             check=False)
        try:
            return checks.parse_results(logs)
        except CheckFailure as failure:
            raise StepFailed(str(failure)) from None

    def _judged_logins(self, attempts: list[dict[str, Any]], what: str,
                       record: StepRecord) -> str:
        try:
            return checks.judge_logins(self._probe(attempts, record), what).message
        except CheckFailure as failure:
            raise StepFailed(str(failure)) from None

    def _password_login(self, record: StepRecord) -> str:
        return self._judged_logins(checks.password_login_attempts(str(self.outputs["iamDbUser"])),
                                   "a password login of the IAM user", record)

    def _expired_token(self, record: StepRecord) -> str:
        return self._judged_logins(checks.expired_token_attempts(str(self.outputs["iamDbUser"])),
                                   "an expired token", record)

    def _other_db_user(self, record: StepRecord) -> str:
        return self._judged_logins(
            checks.other_user_attempts(str(self.outputs["iamDbUser"]), self.master_user),
            "a login as another user", record)

    def _other_service_account(self, record: StepRecord) -> str:
        assert self.kubectl is not None
        namespace = str(self.outputs["namespace"])
        role_arn = str(self.outputs["iamRoleArn"])
        intruder = checks.INTRUDER_SERVICE_ACCOUNT
        # EKS Pod Identity: the intruder has no annotation to copy; it asks the node's agent
        # with its own token (any pod can reach it), and EKS Auth must refuse it.
        pod_identity = self.outputs.get("identityMode") == "pod-identity"
        metadata: dict[str, Any] = {"name": intruder, "namespace": namespace}
        if not pod_identity:
            metadata["annotations"] = {"eks.amazonaws.com/role-arn": role_arn}
        self.kubectl.apply({"apiVersion": "v1", "kind": "ServiceAccount", "metadata": metadata})
        try:
            control = self._probe(checks.assume_role_attempt("control"), record)
            attack = self._probe(checks.assume_role_attempt(f"intruder: {intruder}"), record,
                                 service_account=intruder,
                                 pod_identity_agent=EKS_AGENT_URL if pod_identity else None)
        finally:
            self.kubectl.run("delete", "serviceaccount", intruder, "-n", namespace,
                             "--ignore-not-found", check=False)
        try:
            return checks.judge_assume_role(
                control[0], attack[0], role_arn, f"system:serviceaccount:{namespace}:{intruder}",
                refusals=POD_IDENTITY_REFUSALS if pod_identity else ("AccessDenied",)).message
        except (CheckFailure, IndexError) as failure:
            raise StepFailed(str(failure)) from None

    def _idempotent_up(self, record: StepRecord) -> str:
        from pulumi import automation as auto

        try:
            self.pulumi_stack.up(color="never", expect_no_changes=True,
                                 on_output=self._stream(record))
        except auto.CommandError as error:
            raise StepFailed("the second pulumi up was not a no-op: "
                             f"{str(error).strip().splitlines()[-1]}") from None
        return "no changes"

    def _cluster(self) -> dict[str, Any]:
        import boto3

        rds = boto3.client("rds", region_name=self.region)
        for page in rds.get_paginator("describe_db_clusters").paginate():
            for cluster in page["DBClusters"]:
                if cluster.get("DbClusterResourceId") == self.outputs.get("clusterResourceId"):
                    return cluster
        raise StepFailed(f"describe_db_clusters lists no cluster with resource id "
                         f"{self.outputs.get('clusterResourceId')}")

    def _iam_auth_enabled(self, record: StepRecord) -> str:
        cluster = self._cluster()
        if not cluster.get("IAMDatabaseAuthenticationEnabled"):
            raise StepFailed(f"{cluster['DBClusterIdentifier']}: "
                             "IAMDatabaseAuthenticationEnabled is false")
        return f"{cluster['DBClusterIdentifier']}: IAM database authentication enabled"

    def _policy_simulator(self, record: StepRecord) -> str:
        import boto3

        iam = boto3.client("iam")
        role_arn = str(self.outputs["iamRoleArn"])
        problems = []
        for label, resource, allowed in simulator_cases(
                role_arn, self.region, str(self.outputs["clusterResourceId"]),
                str(self.outputs["iamDbUser"]), self.master_user):
            result = iam.simulate_principal_policy(PolicySourceArn=role_arn,
                                                   ActionNames=["rds-db:connect"],
                                                   ResourceArns=[resource])
            decision = result["EvaluationResults"][0]["EvalDecision"]
            record.log(f"{label}: {resource}: {decision}")
            if (decision == "allowed") != allowed:
                problems.append(f"{label} ({resource}): {decision}, expected "
                                f"{'allowed' if allowed else 'a deny'}")
        if problems:
            raise StepFailed("; ".join(problems))
        return "exact dbuser ARN allowed; wider ARNs and other users denied"

    def _destroy_with_retries(self, record: StepRecord) -> None:
        """``pulumi destroy``, again after a failure: a Ctrl-C at the terminal reaches the CLI
        (same process group) and cancels it, though this run ignores signals while it tears
        down; AWS's eventual consistency (a security group still in use) fails some too."""
        from pulumi import automation as auto

        for attempt in range(1, DESTROY_ATTEMPTS + 1):
            try:
                self.pulumi_stack.destroy(color="never", on_output=self._stream(record))
                return
            except auto.CommandError as error:
                if attempt == DESTROY_ATTEMPTS or "pending" in str(error):
                    raise
                record.log(f"pulumi destroy failed (attempt {attempt}): "
                           f"{str(error).strip().splitlines()[-1]}; trying again")

    def _destroy(self, record: StepRecord) -> str:
        from pulumi import automation as auto

        if self.pulumi_stack is None:
            return "no stack was created"
        for pid in self.interrupted_cli:
            record.log(f"waiting for the interrupted Pulumi CLI (pid {pid}) to finish")
            deadline = time.monotonic() + CLI_STOP_TIMEOUT
            while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
                time.sleep(1)
        try:
            self._destroy_with_retries(record)
        except auto.CommandError as error:
            if "pending" not in str(error):
                raise StepFailed(f"pulumi destroy failed: {str(error).strip().splitlines()[-1]}"
                                 ) from None
            # An interrupted update can leave pending creates; refresh drops them from the
            # state (verify-clean then finds, by tag, anything they left in the account).
            record.log("pending operations in the state: pulumi refresh --clear-pending-creates")
            self.pulumi_stack.refresh(color="never", clear_pending_creates=True,
                                      on_output=self._stream(record))
            self.pulumi_stack.destroy(color="never", on_output=self._stream(record))
        resources = self.pulumi_stack.export_stack().deployment.get("resources") or []
        left = [r["urn"] for r in resources if r.get("type") != "pulumi:pulumi:Stack"]
        if left:
            raise StepFailed(f"{len(left)} resources still in the stack after destroy",
                             logs=left)
        self.pulumi_stack.workspace.remove_stack(self.stack)
        shutil.rmtree(self.workdir, ignore_errors=True)
        return "destroyed and removed"

    def _verify_clean(self, record: StepRecord) -> str:
        import boto3

        tagging = boto3.client("resourcegroupstaggingapi", region_name=self.region)
        left = []
        for page in tagging.get_paginator("get_resources").paginate(
                TagFilters=[{"Key": STACK_TAG, "Values": [self.stack]}]):
            left += [item["ResourceARN"] for item in page.get("ResourceTagMappingList", [])]
        if left:
            raise StepFailed(f"{len(left)} resources still tagged {STACK_TAG}={self.stack}",
                             logs=left)
        return f"nothing tagged {STACK_TAG}={self.stack} in {self.region}"


def sweep(program: Path, prefix: str, older_than_hours: float) -> list[tuple[str, str]]:
    """Destroy and remove the workspace's stacks with the prefix that are older than the
    threshold (judged from the time in their names)."""
    from pulumi import automation as auto

    check_prerequisites()
    workspace = auto.LocalWorkspace(work_dir=str(program))
    now = datetime.now(timezone.utc)
    results = []
    for summary in workspace.list_stacks():
        name = parse_stack_name(summary.name.rsplit("/", 1)[-1], prefix)
        if name is None or name.age_hours(now) < older_than_hours:
            continue
        try:
            stack = auto.select_stack(stack_name=summary.name, work_dir=str(program))
            stack.destroy(color="never")
            workspace.remove_stack(summary.name)
            results.append((summary.name, "swept"))
        except auto.CommandError as error:
            results.append((summary.name, f"failed: {str(error).strip().splitlines()[-1]}"))
    return results
