"""Target ``local``: the program deployed by the local engine onto a local cloud started for this
run alone, under ``<work dir>/<stack>/`` (``run.json``, ``localcloud/``, ``engine/``).

Steps (docs/e2e.md): 1 stack (name, local cloud, config), 2 deploy, 3 rollout, 4 pod-check and
http-api, 5 the four negative checks, 7 destroy, localcloud-down, verify-clean. The whole run
directory is removed once teardown has verified that nothing is left.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import secrets
import shutil
import signal
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from pgiam.e2e import checks, discovery
from pgiam.e2e.checks import CheckFailure
from pgiam.e2e.engine import processes
from pgiam.e2e.engine.context import EngineContext, LocalCluster
from pgiam.e2e.engine.kube import ROLE_ANNOTATION, LocalImage, ObjectKey, plan_pod
from pgiam.e2e.engine.kubelet import ExecResult, RunningPod, Workload
from pgiam.e2e.engine.network import pod_database_verdict
from pgiam.e2e.engine.pod_identity import POD_IDENTITY_REFUSALS, pod_identity_intruder
from pgiam.e2e.engine.state import EngineState, redact
from pgiam.e2e.naming import STACK_TAG, StackName, new_stack_name
from pgiam.e2e.report import StepRecord
from pgiam.e2e.run import Step, StepAction, StepFailed
from pgiam.e2e.stack_config import throwaway_secrets
from pgiam.e2e.targets import localcloud
from pgiam.errors import PgiamError
from pgiam.localcloud.rds.resolver import connect_address

RUN_FILE = "run.json"
PROBE_TIMEOUT = 90.0
CHECK_TIMEOUT = 120.0
POLL_SECONDS = 0.25


@dataclass
class LocalOptions:
    program: Path
    prefix: str
    work_root: Path
    rollout_timeout: float = 90.0
    # The user's --config (full keys); never a key the run sets itself (stack_config.RUN_KEYS).
    config: dict[str, str] = field(default_factory=dict)
    # Pods that serve but keep reporting not-ready for this long: the rollout is over, and the
    # connect flow (step 4) says why they are not ready.
    settle_seconds: float = 5.0
    # --image-command: image repository -> the local command a pod runs for it
    images: dict[str, LocalImage] = field(default_factory=dict)


def default_work_root() -> Path:
    base = os.environ.get("PGIAM_E2E_HOME")
    if base:
        return Path(base)
    state_home = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state_home) / "pgiam" / "e2e"


def _address(url: str) -> str | None:
    parts = urlsplit(url)
    if not parts.hostname:
        return None
    return f"{parts.hostname}:{parts.port or (443 if parts.scheme == 'https' else 80)}"


def processes_using(path: Path) -> list[tuple[int, str]]:
    """Live processes whose command line mentions ``path`` or whose working directory is inside
    it (a pod, or a server whose data directory was in the run directory)."""
    needle = str(path)
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(
                "utf-8", "replace").strip()
            cwd = os.readlink(entry / "cwd")
        except OSError:
            continue
        if (needle in cmdline or cwd.startswith(needle)) and processes.pid_alive(int(entry.name)):
            found.append((int(entry.name), f"{cmdline[:200]} (in {cwd})"))
    return found


class LocalTarget:
    name = "local"

    def __init__(self, options: LocalOptions, stack_name: StackName | None = None) -> None:
        self.options = options
        self.stack_name = stack_name or new_stack_name(options.prefix)
        self.stack = str(self.stack_name)
        self.run_dir = options.work_root / self.stack
        self.cloud: localcloud.LocalCloud | None = None
        self.project: Any = None
        self.config: Any = None
        self.ctx: EngineContext | None = None
        self.mocks: Any = None
        self.outputs: dict[str, Any] = {}        # secrets unwrapped: for the checks
        self.raw_outputs: dict[str, Any] = {}    # as the engine returned them: for the report
        self.master_password = secrets.token_urlsafe(24)
        self.addresses: set[str] = set()
        self.rollout_ready = False
        # The local cloud's own process records (its database servers, their data directories
        # outside the run directory), read before teardown stops them: verify-clean checks
        # that each is gone.
        self.cloud_records: dict[str, dict[str, Any]] = {}

    # -- runner protocol ----------------------------------------------------------------

    def steps(self) -> list[Step]:
        return [
            Step(1, "stack", "unique stack name, a local cloud, the stack's config", self._stack),
            Step(2, "deploy", "deploy the program with the local engine", self._deploy,
                 ("stack",)),
            Step(3, "rollout", "the demo Deployment's pods run and answer their probes",
                 self._explained(self._rollout), ("deploy",)),
            Step(4, "pod-check", "the connect flow inside the pod (python -m app check)",
                 self._explained(self._pod_check, in_reason=True), ("rollout",)),
            Step(4, "http-api", "the app's HTTP API through its Service: set up, write, read",
                 self._explained(self._http_api, in_reason=True), ("pod-check",)),
            Step(5, "other-service-account", "another service account of the namespace "
                 "cannot assume the role", self._explained(self._other_service_account),
                 ("rollout",)),
            Step(5, "password-login", "the IAM database user cannot log in with a password",
                 self._explained(self._password_login), ("rollout",)),
            Step(5, "expired-token", "an expired token is refused",
                 self._explained(self._expired_token), ("rollout",)),
            Step(5, "other-db-user", "the role cannot log in as another database user",
                 self._explained(self._other_db_user), ("rollout",)),
        ]

    def teardown_steps(self) -> list[Step]:
        return [
            Step(7, "destroy", "destroy every resource in reverse dependency order; nothing "
                 "of the stack left in the local cloud", self._destroy),
            Step(7, "localcloud-down", "stop the run's local cloud", self._localcloud_down),
            Step(7, "verify-clean", "no process, listening port, data directory or engine "
                 "state left", self._verify_clean),
        ]

    def interrupt(self, signum: int) -> None:
        if self.mocks is not None:
            self.mocks.cancel()

    def public_outputs(self) -> dict[str, Any]:
        """The stack outputs with Pulumi secrets (the kubeconfig) shown as ``[secret]``, numbers
        as ``pulumi stack output`` shows them (the runtime hands every number over as a float:
        ``5432``, not ``5432.0``)."""
        return _whole_numbers(redact(self.raw_outputs))

    def _explained(self, action: StepAction, *, in_reason: bool = False) -> StepAction:
        """``action`` with the local cloud's own account of what it decided meanwhile (who
        assumed which role or why not, each IAM login accepted or refused with its precise
        reason) added to the step's logs; with ``in_reason``, a failure's message ends with the
        first refusal, which says why a wiring mistake fails (the client only ever sees
        "authentication failed" or "AccessDenied")."""
        def run(record: StepRecord) -> str | None:
            offset = self.cloud.log_offset() if self.cloud is not None else 0
            try:
                result = action(record)
            except StepFailed as failure:
                lines = self._decisions_since(offset)
                failure.logs.extend(f"local cloud: {line}" for line in lines)
                why = localcloud.first_refusal(lines) if in_reason else None
                if why:
                    failure.message += f" (local cloud: {why})"
                raise
            for line in self._decisions_since(offset):
                record.log(f"local cloud: {line}")
            return result
        return run

    def _decisions_since(self, offset: int) -> list[str]:
        return self.cloud.decisions_since(offset) if self.cloud is not None else []

    # -- 1 stack ------------------------------------------------------------------------

    def _write_run_file(self) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=False)
        (self.run_dir / RUN_FILE).write_text(json.dumps({
            "stack": self.stack, "target": self.name, "prefix": self.options.prefix,
            "program": str(self.options.program), "pid": os.getpid(),
            "pid_start_ticks": processes.start_ticks(os.getpid()),
            "created_at": datetime.now(timezone.utc).isoformat()}, indent=1), encoding="utf-8")

    def _stack(self, record: StepRecord) -> str:
        from pgiam.program.loader import load_project, load_stack_config

        project = load_project(self.options.program)
        self._write_run_file()
        self.cloud = localcloud.up(self.run_dir / "localcloud")
        info = self.cloud.info
        for url in (info.endpoint_url, info.issuer):
            if (address := _address(url)) is not None:
                self.addresses.add(address)
        generated = throwaway_secrets(project, [*self.options.config, "masterPassword"])
        overrides = {
            **generated,
            **self.options.config,
            "aws:region": info.region,
            "aws:defaultTags": json.dumps({"tags": {STACK_TAG: self.stack}}),
            project.full_key("environment"): "dev",
            project.full_key("masterPassword"): self.master_password,
            project.full_key("dbCaBundle"): self.cloud.ca_pem(),
            project.full_key("dbCaBundleFile"): info.ca_bundle,
        }
        self.project = project
        self.config = load_stack_config(project, self.stack, overrides)
        record.details.update({"run_dir": str(self.run_dir), "region": info.region,
                               "localcloud_pid": self.cloud.pid,
                               "account_id": info.account_id, "endpoint_url": info.endpoint_url,
                               "issuer": info.issuer,
                               "config": sorted(self.config.values)})
        thrown = ", ".join(["masterPassword", *sorted(generated)])
        record.log(f"config keys: {', '.join(sorted(self.config.values))} (generated for this "
                   f"stack only, secret: {thrown})")
        return (f"stack {self.stack}; local cloud {info.endpoint_url} ({info.region}, account "
                f"{info.account_id})")

    # -- 2 deploy -----------------------------------------------------------------------

    def _mint(self, namespace: str, service_account: str, audience: str, ttl: int,
              pod: str) -> str:
        assert self.cloud is not None
        return self.cloud.sa_token(namespace, service_account, audience, ttl, pod)

    def _deploy(self, record: StepRecord) -> str:
        from pgiam.e2e.engine.mocks import EngineMocks, record_dependencies
        from pgiam.program.mocks import unwrap_secrets
        from pgiam.program.runner import ProgramError, run_program

        assert self.cloud is not None
        engine_dir = self.run_dir / "engine"
        state = EngineState.create(engine_dir, self.stack)
        self.ctx = EngineContext(stack=self.stack, project=self.project.name,
                                 cloud=self.cloud.info, state=state, root=engine_dir,
                                 config=dict(self.config.values), mint_token=self._mint)
        self.ctx.images.update(self.options.images)
        self.mocks = EngineMocks(self.ctx)
        try:
            run = run_program(self.project, self.config, self.mocks, preview=False)
        except ProgramError as error:
            raise StepFailed(f"the program failed: {error}",
                             logs=[f"created before the failure: {entry.key}"
                                   for entry in state.resources()]) from None
        record_dependencies(self.ctx, run)
        self.raw_outputs = dict(run.outputs)
        self.outputs, _ = unwrap_secrets(run.outputs)
        counts: dict[str, int] = {}
        for entry in state.resources():
            counts[entry.type] = counts.get(entry.type, 0) + 1
            seconds = self.mocks.durations.get(entry.key, 0.0)
            record.log(f"created {entry.key} ({entry.id}) in {seconds:.2f}s")
        for log in run.logs:
            record.log(f"program {log.severity}: {log.message}")
        record.details["resources"] = counts
        if self.outputs.get("clusterEndpoint") and self.outputs.get("clusterPort"):
            self.addresses.add(f"{self.outputs['clusterEndpoint']}:{self.outputs['clusterPort']}")
            # this process does not resolve the endpoint's name: its address, for verify-clean
            address = connect_address(self.ctx.cloud.hosts_file, str(self.outputs["clusterEndpoint"])) \
                if self.ctx is not None and self.ctx.cloud.hosts_file else None
            if address:
                self.addresses.add(f"{address}:{self.outputs['clusterPort']}")
        return (f"{sum(counts.values())} resources created; app at "
                f"{self.outputs.get('appUrl') or '(its Service, found at step 4)'}")

    # -- 3 rollout ----------------------------------------------------------------------

    def _workloads(self) -> list[tuple[LocalCluster, Workload]]:
        assert self.ctx is not None
        namespace = self.outputs.get("namespace")
        found = [(cluster, workload) for cluster in self.ctx.clusters.values()
                 for workload in cluster.kubelet.workloads.values()
                 if namespace in (None, workload.namespace)]
        if not found:
            raise StepFailed(f"no Deployment in namespace {namespace!r} (stack output "
                             "`namespace`)")
        return found

    def _demo_pod(self) -> tuple[LocalCluster, Workload, RunningPod]:
        for cluster, workload in self._workloads():
            for pod in workload.pods:
                return cluster, workload, pod
        raise StepFailed("the demo Deployment has no pod (see step 3)")

    @staticmethod
    def _events(pod: RunningPod) -> list[str]:
        return [f"event {line}" for line in pod.events]

    def _rollout(self, record: StepRecord) -> str:
        workloads = self._workloads()
        started = time.monotonic()
        deadline = started + self.options.rollout_timeout
        not_ready_since: float | None = None
        while True:
            results = []
            for cluster, workload in workloads:
                where = f"Deployment {workload.namespace}/{workload.name}"
                if workload.failed_create:
                    raise StepFailed(f"{where}: {workload.failed_create}")
                if not workload.pods and workload.replicas:
                    raise StepFailed(f"{where}: no pod was created")
                for pod in workload.pods:
                    for container in pod.containers:
                        code = container.exit_code()
                        if code is not None:
                            raise StepFailed(
                                f"{where}: pod {pod.plan.name} container {container.plan.name} "
                                f"exited with code {code} (CrashLoopBackOff)",
                                logs=self._events(pod) + cluster.kubelet.logs(pod))
                        results.append((cluster, pod, cluster.kubelet.probe(
                            pod, container, container.plan.readiness)))
            elapsed = time.monotonic() - started
            if all(result.ok for _, _, result in results):
                self.rollout_ready = True
                for _, pod, result in results:
                    record.log(f"pod {pod.plan.name} ({pod.ip}): ready: {result.message}")
                return f"{len(results)}/{len(results)} containers ready after {elapsed:.1f}s"
            waiting = [f"{pod.plan.name}: {result.message}" for _, pod, result in results
                       if not result.ok]
            if all(result.answered for _, _, result in results):
                not_ready_since = not_ready_since or time.monotonic()
                if time.monotonic() - not_ready_since >= self.options.settle_seconds:
                    for cluster, pod, _ in results:
                        for line in self._events(pod) + cluster.kubelet.logs(pod, tail=20):
                            record.log(line)
                    record.details["ready"] = False
                    return ("pods running but NOT ready (readiness probe: "
                            f"{'; '.join(waiting)}); step 4 runs the connect flow to say why")
            else:
                not_ready_since = None
            if time.monotonic() > deadline:
                logs = []
                for cluster, pod, _ in results:
                    logs += self._events(pod) + cluster.kubelet.logs(pod)
                raise StepFailed(f"not ready after {self.options.rollout_timeout:.0f}s: "
                                 f"{'; '.join(waiting)}", logs=logs)
            time.sleep(POLL_SECONDS)

    # -- 4 checks in the pod ------------------------------------------------------------

    def _pod_check(self, record: StepRecord) -> str:
        cluster, _, pod = self._demo_pod()
        assert self.ctx is not None
        network = pod_database_verdict(self.ctx, cluster.model.name, _app_env(pod))
        if network is not None:
            record.log(f"network: {network.reason}")
            if not network.allowed:
                raise StepFailed("the pod cannot reach the database (on AWS its connection times out): "
                                 f"{network.reason}")
        result = cluster.kubelet.exec(pod, ["python", "-m", "app", "check", "--json"],
                                      timeout=CHECK_TIMEOUT)
        lines = [f"$ python -m app check --json  (in pod {pod.plan.name}, exit "
                 f"{result.returncode}, {result.duration_s:.1f}s)"]
        lines += result.stdout.strip().splitlines() + result.stderr.strip().splitlines()
        report = _last_json_object(result.stdout)
        if result.returncode == 0 and report and report.get("ok"):
            for line in lines:
                record.log(line)
            session = report.get("session") or {}
            identity = report.get("identity") or {}
            record.details.update({"identity": identity, "session": session})
            try:
                checks.judge_tls_mode(_app_env(pod).get("PGSSLMODE"))
                checks.judge_identity(identity, session, self._role_arn(), self._db_user())
            except CheckFailure as failure:
                raise StepFailed(str(failure)) from None
            return (f"connected as {session.get('current_user')} with role "
                    f"{identity.get('role')} over {(session.get('tls') or {}).get('version')}; "
                    "a row written and read back")
        failed = (report or {}).get("failed") or {}
        if failed:
            reason = (f"the connect flow failed at {failed.get('stage')}: {failed.get('reason')}"
                      f"{checks.login_hint(str(failed.get('reason')))}")
        else:
            reason = (f"python -m app check exited with {result.returncode}: "
                      f"{(result.stderr.strip().splitlines() or ['no output'])[-1]}")
        raise StepFailed(reason, logs=lines + self._events(pod) + cluster.kubelet.logs(pod, 30))

    def _http_api(self, record: StepRecord) -> str:
        from pgiam.e2e.http_api import exercise

        url = self._app_url()
        if not url:
            raise StepFailed("no Service selects the app's pod (and the stack has no appUrl "
                             "output): nothing to send HTTP requests to")
        try:
            message, lines, details = exercise(str(url), checks.role_name(self._role_arn()),
                                               self._db_user())
        except CheckFailure as failure:
            raise StepFailed(str(failure)) from None
        for line in lines:
            record.log(line)
        record.details.update(details)
        return message

    # -- what the checks are about -------------------------------------------------------

    def _fact(self, output: str, env_name: str) -> str:
        """A stack output (docs/architecture.md), or, for a program of another shape that does
        not export it, what the demo pod itself runs with."""
        value = self.outputs.get(output)
        if value:
            return str(value)
        _, _, pod = self._demo_pod()
        value = _app_env(pod).get(env_name)
        if not value:
            raise StepFailed(f"the stack has no {output} output and the pod no {env_name}")
        return value

    def _db_user(self) -> str:
        return self._fact("iamDbUser", "DB_USER")

    def _database(self) -> discovery.DatabaseRecord | None:
        """The database the app's pod connects to, found by its host among the RDS resources
        the stack created."""
        assert self.ctx is not None
        records = [discovery.DatabaseRecord(entry.key, entry.outputs)
                   for entry in self.ctx.state.resources()
                   if entry.type in discovery.DATABASE_TYPES]
        env = _app_env(self._demo_pod()[2])
        return discovery.database_for_host(records, env.get("DB_HOST") or env.get("PGHOST"))

    def _master(self) -> tuple[str, str]:
        """The master user and password of the pod's database, as the program gave them to the
        database resource (a generated secret, a RandomPassword, a literal...)."""
        assert self.ctx is not None
        database = self._database()
        login = discovery.master_login(database, self.ctx.master_logins)
        if login is not None:
            return login
        user = (discovery.master_user(database)
                or self.config.values.get(self.project.full_key("masterUsername")))
        if not user:
            raise StepFailed("cannot tell the database's master user: the pod's DB_HOST/PGHOST "
                             "names none of the stack's RDS clusters or instances")
        return user, self.master_password

    def _app_url(self) -> str | None:
        """The app's URL: the ``appUrl`` output when the program exports one, else the Service
        in front of the app's pod."""
        if self.outputs.get("appUrl"):
            return str(self.outputs["appUrl"])
        cluster, _, pod = self._demo_pod()
        services = [discovery.ServiceRecord(proxy.namespace, proxy.name, proxy.ip,
                                            proxy.selector,
                                            {port: listen for port, (_, listen, _) in
                                             proxy.ports.items()})
                    for proxy in cluster.kubelet.services.values()]
        return discovery.app_url(services, pod.plan.namespace, pod.plan.labels)

    def _role_arn(self) -> str:
        return self._fact("iamRoleArn", "AWS_ROLE_ARN")

    # -- 5 negative checks --------------------------------------------------------------

    def _probe(self, cluster: LocalCluster, pod: RunningPod, attempts: list[dict[str, Any]],
               record: StepRecord) -> list[dict[str, Any]]:
        command = ["python", "-c", checks.probe_source(), checks.spec(attempts)]
        result = cluster.kubelet.exec(
            pod, command, timeout=PROBE_TIMEOUT,
            extra_env={checks.PASSWORD_ENV: self._master()[1],
                       checks.WRONG_PASSWORD_ENV: secrets.token_urlsafe(18)})
        return _probe_results(result, record)

    def _judged_logins(self, attempts: list[dict[str, Any]], what: str,
                       record: StepRecord) -> str:
        cluster, _, pod = self._demo_pod()
        offset = self.cloud.log_offset() if self.cloud is not None else 0
        results = self._probe(cluster, pod, attempts, record)
        try:
            verdict = checks.judge_logins(results, what)
        except CheckFailure as failure:
            raise StepFailed(str(failure), logs=[checks.describe(r) for r in results]) from None
        unexplained = checks.unexplained_refusals(attempts, self._decisions_since(offset))
        if unexplained:
            raise StepFailed(unexplained[0], logs=list(verdict.lines) + unexplained)
        for line in verdict.lines:
            record.log(line)
        return verdict.message

    def _password_login(self, record: StepRecord) -> str:
        return self._judged_logins(checks.password_login_attempts(self._db_user()),
                                   "a password login of the IAM user", record)

    def _expired_token(self, record: StepRecord) -> str:
        return self._judged_logins(checks.expired_token_attempts(self._db_user()),
                                   "an expired token", record)

    def _other_db_user(self, record: StepRecord) -> str:
        return self._judged_logins(checks.other_user_attempts(self._db_user(), self._master()[0]),
                                   "a login as another user", record)

    def _other_service_account(self, record: StepRecord) -> str:
        cluster, workload, _ = self._demo_pod()
        namespace = workload.namespace
        deployment = cluster.model.get("Deployment", namespace, workload.name) or {}
        template = copy.deepcopy((deployment.get("spec") or {}).get("template") or {})
        own_account = (template.get("spec") or {}).get("serviceAccountName") or "default"
        role_arn = self._role_arn()
        intruder_key = ObjectKey("ServiceAccount", namespace, checks.INTRUDER_SERVICE_ACCOUNT)
        agent = cluster.model.pod_identity.get((namespace, own_account))
        intruder_template = template
        if agent:
            # EKS Pod Identity: any pod can reach its node's agent; the attack is another
            # service account's pod asking it with its own projected token.
            intruder_template = pod_identity_intruder(template, agent, cluster.model.region)
            cluster.model.admit("v1", "ServiceAccount", {"metadata": {
                "name": checks.INTRUDER_SERVICE_ACCOUNT, "namespace": namespace}})
        else:
            # The attack: another service account of the same namespace, annotated with the
            # same role (anyone who may create service accounts there can write that annotation).
            cluster.model.admit("v1", "ServiceAccount", {"metadata": {
                "name": checks.INTRUDER_SERVICE_ACCOUNT, "namespace": namespace,
                "annotations": {ROLE_ANNOTATION: role_arn}}})
        try:
            control = self._probe_pod(cluster, namespace, template, own_account,
                                      "control: the app's own service account", record)
            intruder = self._probe_pod(cluster, namespace, intruder_template,
                                       checks.INTRUDER_SERVICE_ACCOUNT,
                                       f"intruder: {checks.INTRUDER_SERVICE_ACCOUNT}", record)
        finally:
            cluster.model.remove(intruder_key)
        subject = f"system:serviceaccount:{namespace}:{checks.INTRUDER_SERVICE_ACCOUNT}"
        try:
            verdict = checks.judge_assume_role(
                control, intruder, role_arn, subject,
                refusals=POD_IDENTITY_REFUSALS if agent else ("AccessDenied",))
        except CheckFailure as failure:
            raise StepFailed(str(failure), logs=[checks.describe(control),
                                                 checks.describe(intruder)]) from None
        for line in verdict.lines:
            record.log(line)
        return verdict.message

    def _probe_pod(self, cluster: LocalCluster, namespace: str, template: dict[str, Any],
                   account: str, label: str, record: StepRecord) -> dict[str, Any]:
        pod_template = copy.deepcopy(template)
        pod_template.setdefault("spec", {})["serviceAccountName"] = account
        name = f"pgiam-e2e-probe-{secrets.token_hex(3)}"
        try:
            plan = plan_pod(cluster.model, namespace, name, pod_template)
        except PgiamError as refused:
            raise StepFailed(f"the probe pod for {account} could not be created: {refused}"
                             ) from None
        result = cluster.kubelet.run_once(
            plan, ["python", "-c", checks.probe_source(),
                   checks.spec(checks.assume_role_attempt(label))],
            timeout=PROBE_TIMEOUT, owner="pgiam-e2e::probe")
        results = _probe_results(result, record)
        return results[0] if results else {"label": label, "result": "error",
                                           "message": "no result"}

    # -- 7 teardown ---------------------------------------------------------------------

    def _destroy(self, record: StepRecord) -> str:
        from pgiam.e2e.engine.destroy import destroy, still_existing, tagged_leftovers

        if self.mocks is not None:
            self.mocks.cancel()
            if not self.mocks.wait_idle(120.0):
                record.log("creations still under way after 120s; destroying what is recorded")
        self._remember_cloud_records()
        if self.ctx is None:
            return "nothing was deployed"
        for process in self.ctx.state.history:
            self.addresses.update(process.addresses)
        snapshot = self.ctx.state.resources()
        outcome = destroy(self.ctx, log=record.log)
        problems = [f"{key}: {message}" for key, message in outcome.failed]
        try:
            left = still_existing(self.ctx, snapshot)
            problems += [f"still in the local cloud: {item}" for item in left]
            tagged = tagged_leftovers(self.ctx, self.stack)
            problems += [f"still tagged {STACK_TAG}={self.stack}: {arn}" for arn in tagged]
        except Exception as error:  # noqa: BLE001 - the cloud may be the thing that broke
            problems.append(f"could not ask the local cloud what is left: {error}")
        if problems:
            raise StepFailed(f"{len(problems)} problem(s) destroying the stack: {problems[0]}",
                             logs=problems)
        record.details.update({"deleted": len(outcome.deleted),
                               "stopped_processes": outcome.stopped_processes})
        return (f"{len(outcome.deleted)} resources deleted; the local cloud lists nothing of "
                "the stack")

    def _remember_cloud_records(self) -> None:
        if self.cloud is not None:
            for entry in self.cloud.process_records():
                self.cloud_records[str(entry.get("name"))] = entry

    def _localcloud_down(self, record: StepRecord) -> str:
        self._remember_cloud_records()
        state_dir = self.run_dir / "localcloud"
        if not state_dir.exists():
            return "no local cloud was started"
        result = localcloud.down(state_dir)
        for line in (result.stdout + result.stderr).strip().splitlines():
            record.log(line)
        if result.returncode != 0:
            raise StepFailed(f"pgiam localcloud down failed (exit {result.returncode})")
        return f"local cloud at {state_dir} stopped"

    def _cloud_leftovers(self) -> list[str]:
        """What the local cloud recorded having started and is still there: a database server
        running, a data directory (they live outside the run directory) not removed."""
        problems = []
        for name, entry in sorted(self.cloud_records.items()):
            if _cloud_record_alive(entry):
                problems.append(f"local cloud process left: {name} (pid {entry['pid']})")
            for path in entry.get("paths") or []:
                if Path(path).exists():
                    problems.append(f"local cloud directory left: {path} ({name}; removed now)")
                    shutil.rmtree(path, ignore_errors=True)
        return problems

    def _verify_clean(self, record: StepRecord) -> str:
        problems = []
        if self.ctx is not None:
            state = self.ctx.state
            if not state.is_empty():
                problems.append(f"engine state not empty: {len(state.resources())} resources, "
                                f"{len(state.processes())} processes, "
                                f"{len(state.data.directories)} directories")
            for process in state.history:
                if processes.is_running(process):
                    problems.append(f"process left: {process.description} (pid {process.pid})")
                    processes.stop(process)
        if self.cloud is not None and self.cloud.pid and not processes.wait_gone(self.cloud.pid,
                                                                                  5.0):
            problems.append(f"local cloud daemon still running (pid {self.cloud.pid})")
        problems += self._cloud_leftovers()
        for pid, cmdline in processes_using(self.run_dir):
            problems.append(f"process left using the run directory: pid {pid}: {cmdline} "
                            "(killed now)")
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        for address in sorted(self.addresses):
            host, _, port = address.rpartition(":")
            if port.isdigit() and _listening(host, int(port)):
                problems.append(f"still listening: {address}")
        if self.run_dir.exists():
            leftover = sorted(str(p.relative_to(self.run_dir)) for p in self.run_dir.iterdir())
            record.log(f"removing the run directory {self.run_dir} ({', '.join(leftover)})")
            shutil.rmtree(self.run_dir, ignore_errors=True)
        if self.run_dir.exists():
            problems.append(f"run directory could not be removed: {self.run_dir}")
        if problems:
            raise StepFailed(f"left behind: {problems[0]}", logs=problems)
        checked = (len(self.ctx.state.history) if self.ctx is not None else 0) + \
            len(self.cloud_records)
        return (f"{checked} processes gone, {len(self.addresses)} addresses closed, run "
                "directory removed")


def _whole_numbers(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, dict):
        return {key: _whole_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_whole_numbers(item) for item in value]
    return value


def _cloud_record_alive(entry: dict[str, Any]) -> bool:
    try:
        pid, started = int(entry["pid"]), int(entry["start_time"])
    except (KeyError, TypeError, ValueError):
        return False
    return processes.start_ticks(pid) == started and processes.pid_alive(pid)


def _app_env(pod: RunningPod) -> dict[str, str]:
    """The environment of the container the checks exec in (the pod's first)."""
    return dict(pod.containers[0].env) if pod.containers else {}


def _listening(host: str, port: int) -> bool:
    import socket

    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, socket.AF_INET)}
    except OSError:
        return False
    return any(processes.port_listening(port, address) for address in addresses)


def _last_json_object(text: str) -> dict[str, Any] | None:
    for line in reversed(text.strip().splitlines()):
        try:
            value = json.loads(line)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    return None


def _probe_results(result: ExecResult, record: StepRecord) -> list[dict[str, Any]]:
    try:
        return checks.parse_results(result.stdout)
    except CheckFailure as failure:
        raise StepFailed(f"the probe did not run (exit {result.returncode}): {failure}",
                         logs=result.stderr.strip().splitlines()[-20:]) from None
