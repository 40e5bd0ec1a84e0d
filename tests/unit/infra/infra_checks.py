"""The unit layer's checks on the infra program, as plain functions that raise AssertionError.

The stack tests run them on what the program registered under mocks; the mutation tests run the
very same functions on mutated documents and resources and require them to fail. Policies are
judged by evaluating them with the project's IAM engine (``pgiam.iam``), not by comparing text:
the right request must be allowed and every neighbouring request denied.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pgiam.iam import (
    Principal,
    Request,
    evaluate_identity_policies,
    evaluate_trust_policy,
    expand_actions,
    parse_policy,
)

RDS_CLUSTER = "aws:rds/cluster:Cluster"
RDS_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
SUBNET_GROUP = "aws:rds/subnetGroup:SubnetGroup"
SECURITY_GROUP = "aws:ec2/securityGroup:SecurityGroup"
SUBNET = "aws:ec2/subnet:Subnet"
VPC = "aws:ec2/vpc:Vpc"
IAM_ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
EKS_CLUSTER = "eks:index:Cluster"
PG_PROVIDER = "pulumi:providers:postgresql"
PG_ROLE = "postgresql:index/role:Role"
PG_GRANT_ROLE = "postgresql:index/grantRole:GrantRole"
PG_GRANT = "postgresql:index/grant:Grant"
PG_DEFAULT_PRIVILEGES = "postgresql:index/defaultPrivileges:DefaultPrivileges"
K8S_SERVICE_ACCOUNT = "kubernetes:core/v1:ServiceAccount"
K8S_DEPLOYMENT = "kubernetes:apps/v1:Deployment"
K8S_SERVICE = "kubernetes:core/v1:Service"
K8S_CONFIG_MAP = "kubernetes:core/v1:ConfigMap"
IRSA_ANNOTATION = "eks.amazonaws.com/role-arn"
WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
CONNECT = "rds-db:connect"
POD_IDENTITY_ASSOCIATION = "aws:eks/podIdentityAssociation:PodIdentityAssociation"
EKS_ADDON = "aws:eks/addon:Addon"
PODS_PRINCIPAL = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")


@dataclass(frozen=True)
class Resource:
    """What a check sees of one registered resource (a RecordedResource, or a mutated copy)."""

    type: str
    name: str
    id: str
    inputs: Mapping[str, Any]
    outputs: Mapping[str, Any]


@dataclass(frozen=True)
class Stack:
    resources: tuple[Resource, ...]
    outputs: Mapping[str, Any]
    secret_outputs: frozenset[str]
    settings: Mapping[str, Any]  # the configuration the program ran with (project keys)
    region: str
    account_id: str
    partition: str

    def of_type(self, type_: str) -> list[Resource]:
        return [r for r in self.resources if r.type == type_]

    def one(self, type_: str) -> Resource:
        found = self.of_type(type_)
        assert len(found) == 1, f"expected exactly one {type_}, found {len(found)}"
        return found[0]


@dataclass(frozen=True)
class TrustExpectation:
    provider_arn: str
    issuer: str  # host/path, no scheme
    namespace: str
    service_account: str
    role_arn: str = "arn:aws:iam::123456789012:role/irsa"


@dataclass(frozen=True)
class PodIdentityExpectation:
    account_id: str
    cluster_arn: str
    namespace: str
    service_account: str
    role_arn: str = "arn:aws:iam::123456789012:role/pod-identity"


@dataclass(frozen=True)
class ConnectExpectation:
    partition: str
    region: str
    account_id: str
    resource_id: str
    db_user: str
    cluster_identifier: str = "db-cluster"


def stack_from_run(run) -> Stack:
    """A checkable view of a tests/unit/infra/infra_stack.StackRun."""
    resources = tuple(Resource(r.type, r.name, r.id, r.inputs, r.outputs)
                      for r in run.mocks.resources)
    settings = {key.split(":", 1)[1]: value for key, value in run.config.items()
                if key.startswith("iam-postgres:")}
    return Stack(resources, dict(run.outputs), frozenset(run.secret_outputs), settings,
                 run.context.region, run.context.account_id, run.context.partition)


def setting(stack: Stack, key: str, default: str) -> str:
    return stack.settings.get(key) or default


# ---------------------------------------------------------------------------------------------
# Documents
# ---------------------------------------------------------------------------------------------

def _web_identity(expect: TrustExpectation, *, provider: str | None = None,
                  sub: str | None = None, aud: str | None = "sts.amazonaws.com",
                  action: str = WEB_IDENTITY, kind: str = "Federated") -> Request:
    context: dict[str, Any] = {}
    issuer = expect.issuer
    if sub is not None:
        context[f"{issuer}:sub"] = sub
    if aud is not None:
        context[f"{issuer}:aud"] = aud
    return Request(action=action, resource=expect.role_arn,
                   principal=Principal(kind, provider or expect.provider_arn), context=context)


def check_trust_document(document: str | Mapping[str, Any], expect: TrustExpectation) -> None:
    """One Allow statement; only AssumeRoleWithWebIdentity, only from the provider, only for the
    exact service account and audience; and, evaluated, nothing wider."""
    policy = parse_policy(document)
    assert len(policy.statements) == 1, "the trust policy must have exactly one statement"
    statement = policy.statements[0]
    assert statement.effect == "Allow"
    assert statement.actions == (WEB_IDENTITY,), f"trust action must be exactly {WEB_IDENTITY}"
    assert statement.principal == {"Federated": (expect.provider_arn,)} \
        and statement.not_principal is None, \
        f"trust principal must be exactly the federated provider {expect.provider_arn}"
    conditions = {(c.operator, c.key): tuple(c.values) for c in statement.conditions}
    subject = f"system:serviceaccount:{expect.namespace}:{expect.service_account}"
    assert conditions == {
        ("StringEquals", f"{expect.issuer}:sub"): (subject,),
        ("StringEquals", f"{expect.issuer}:aud"): ("sts.amazonaws.com",),
    }, f"trust conditions must be exactly StringEquals on :sub and :aud, got {conditions}"

    def decide(request: Request) -> bool:
        return evaluate_trust_policy(policy, request).allowed

    assert decide(_web_identity(expect, sub=subject)), "the service account cannot assume the role"
    denied = {
        "another service account": _web_identity(
            expect, sub=f"system:serviceaccount:{expect.namespace}:{expect.service_account}x"),
        "another namespace": _web_identity(
            expect, sub=f"system:serviceaccount:{expect.namespace}x:{expect.service_account}"),
        "default service account": _web_identity(
            expect, sub=f"system:serviceaccount:{expect.namespace}:default"),
        "another audience": _web_identity(expect, sub=subject, aud="sts.example.com"),
        "no audience": _web_identity(expect, sub=subject, aud=None),
        "no subject": _web_identity(expect, sub=None),
        "another provider": _web_identity(expect, sub=subject,
                                          provider=expect.provider_arn + "0"),
        "AssumeRole": _web_identity(expect, sub=subject, action="sts:AssumeRole"),
        "an AWS principal": _web_identity(expect, sub=subject, kind="AWS",
                                          provider=expect.provider_arn.split(":oidc")[0] + ":root"),
    }
    allowed = [what for what, request in denied.items() if decide(request)]
    assert not allowed, f"the trust policy also lets in: {', '.join(allowed)}"


def dbuser_arn(expect: ConnectExpectation, **changes: str) -> str:
    values = {"partition": expect.partition, "region": expect.region,
              "account_id": expect.account_id, "resource_id": expect.resource_id,
              "db_user": expect.db_user, **changes}
    return ("arn:{partition}:rds-db:{region}:{account_id}:dbuser:{resource_id}/{db_user}"
            .format(**values))


def _other(text: str) -> str:
    """``text`` with its last character changed (same alphabet: digit for digit, letter for
    letter)."""
    last = text[-1]
    replacement = ("0" if last != "0" else "1") if last.isdigit() else ("A" if last != "A" else "B")
    return text[:-1] + replacement


def _other_region(region: str) -> str:
    number = int(region.rsplit("-", 1)[1])
    return f"{region.rsplit('-', 1)[0]}-{number + 1}"


def check_connect_document(document: str | Mapping[str, Any], expect: ConnectExpectation) -> None:
    """Only rds-db:connect, only on the exact dbuser ARN of the cluster's resource id; evaluated,
    nothing wider."""
    policy = parse_policy(document)
    assert len(policy.statements) == 1, "the connect policy must have exactly one statement"
    statement = policy.statements[0]
    assert statement.effect == "Allow" and statement.not_actions is None \
        and statement.not_resources is None
    exact = dbuser_arn(expect)
    assert statement.resources == (exact,), \
        f"connect resource must be exactly {exact}, got {statement.resources}"
    # Exactly the action, not a pattern: rds-db:* covers only connect today, but grants whatever
    # the service adds tomorrow.
    assert statement.actions == (CONNECT,), \
        f"connect action must be exactly {CONNECT}, got {statement.actions}"
    assert expand_actions(CONNECT) == frozenset({CONNECT})

    def decide(action: str, resource: str) -> bool:
        return evaluate_identity_policies([policy], Request(action, resource)).allowed

    assert decide(CONNECT, exact), f"{CONNECT} on {exact} is not allowed"
    wider = {
        "another user": dbuser_arn(expect, db_user=expect.db_user + "x"),
        "a user it prefixes": dbuser_arn(expect, db_user=expect.db_user[:-1]),
        "every user": dbuser_arn(expect, db_user="*"),
        "another cluster": dbuser_arn(expect, resource_id=_other(expect.resource_id)),
        "the cluster identifier": dbuser_arn(expect, resource_id=expect.cluster_identifier),
        "another region": dbuser_arn(expect, region=_other_region(expect.region)),
        "another account": dbuser_arn(expect, account_id=_other(expect.account_id)),
    }
    allowed = [what for what, arn in wider.items() if decide(CONNECT, arn)]
    assert not allowed, f"the connect policy also allows: {', '.join(allowed)}"
    for action in ("rds:DescribeDBClusters", "rds:ModifyDBCluster", "rds:*", "sts:AssumeRole",
                   "iam:PassRole"):
        assert not decide(action, exact) and not decide(action, "*"), \
            f"the connect policy also allows {action}"


def _eks_auth(expect: PodIdentityExpectation, action: str = "sts:AssumeRole", *,
              principal: tuple[str, str] = ("Service", PODS_PRINCIPAL), **tags: str | None) -> Request:
    """The request EKS Auth makes for a pod: its session tags, this account as source."""
    values = {"eks-cluster-arn": expect.cluster_arn,
              "kubernetes-namespace": expect.namespace,
              "kubernetes-service-account": expect.service_account,
              "source-account": expect.account_id}
    values.update({key.replace("_", "-"): value for key, value in tags.items()})
    context: dict[str, Any] = {f"aws:RequestTag/{key}": value for key, value in values.items()
                               if value is not None and key != "source-account"}
    if values["source-account"] is not None:
        context["aws:SourceAccount"] = values["source-account"]
    context["aws:TagKeys"] = [key for key in values if key != "source-account"
                              and values[key] is not None]
    return Request(action=action, resource=expect.role_arn, principal=Principal(*principal),
                   context=context)


def check_pod_identity_trust_document(document: str | Mapping[str, Any],
                                      expect: PodIdentityExpectation) -> None:
    """One Allow statement; only the EKS Auth service principal; exactly AssumeRole and
    TagSession; and, evaluated, only for this cluster's sessions of the one service account."""
    policy = parse_policy(document)
    assert len(policy.statements) == 1, "the trust policy must have exactly one statement"
    statement = policy.statements[0]
    assert statement.effect == "Allow"
    assert sorted(statement.actions) == sorted(POD_IDENTITY_ACTIONS), \
        f"trust actions must be exactly {POD_IDENTITY_ACTIONS}, got {statement.actions}"
    assert statement.principal == {"Service": (PODS_PRINCIPAL,)} \
        and statement.not_principal is None, f"trust principal must be exactly {PODS_PRINCIPAL}"

    def decide(request: Request) -> bool:
        return evaluate_trust_policy(policy, request).allowed

    for action in POD_IDENTITY_ACTIONS:
        assert decide(_eks_auth(expect, action)), f"EKS Auth cannot {action} for the pod"
    other_account = _other(expect.account_id)
    denied = {
        "another service account": _eks_auth(
            expect, kubernetes_service_account=expect.service_account + "x"),
        "the default service account": _eks_auth(expect, kubernetes_service_account="default"),
        "another namespace": _eks_auth(expect, kubernetes_namespace=expect.namespace + "x"),
        "another cluster": _eks_auth(expect, eks_cluster_arn=expect.cluster_arn + "x"),
        "untagged session": _eks_auth(expect, eks_cluster_arn=None, kubernetes_namespace=None,
                                      kubernetes_service_account=None),
        "another source account": _eks_auth(expect, source_account=other_account),
        "AssumeRoleWithWebIdentity": _eks_auth(expect, WEB_IDENTITY),
        "another service": _eks_auth(expect, principal=("Service", "ec2.amazonaws.com")),
        "an AWS principal": _eks_auth(
            expect, principal=("AWS", f"arn:aws:iam::{expect.account_id}:root")),
    }
    allowed = [what for what, request in denied.items() if decide(request)]
    assert not allowed, f"the trust policy also lets in: {', '.join(allowed)}"


# ---------------------------------------------------------------------------------------------
# The stack
# ---------------------------------------------------------------------------------------------

def identity_mode(stack: Stack) -> str:
    return setting(stack, "identityMode", "irsa")


def app_role(stack: Stack) -> Resource:
    """The role the app's pods get: the IRSA role, or the Pod Identity association's role."""
    if identity_mode(stack) == "pod-identity":
        return pod_identity_role(stack)
    return irsa_role(stack)


def pod_identity_role(stack: Stack) -> Resource:
    """The role trusting the EKS Auth service principal (the Pod Identity role)."""
    roles = [r for r in stack.of_type(IAM_ROLE) if PODS_PRINCIPAL in str(r.inputs.get("assumeRolePolicy"))]
    assert len(roles) == 1, f"expected one role trusting {PODS_PRINCIPAL}, found {len(roles)}"
    return roles[0]


def pod_identity_expectation(stack: Stack) -> PodIdentityExpectation:
    name = stack.one(EKS_CLUSTER).outputs["name"]
    return PodIdentityExpectation(
        account_id=stack.account_id,
        cluster_arn=f"arn:{stack.partition}:eks:{stack.region}:{stack.account_id}:cluster/{name}",
        namespace=setting(stack, "namespace", "demo"),
        service_account=setting(stack, "serviceAccount", "demo-app"),
        role_arn=pod_identity_role(stack).outputs["arn"])


def irsa_role(stack: Stack) -> Resource:
    """The role a service account's annotation names (the IRSA role)."""
    roles = [r for r in stack.of_type(IAM_ROLE) if WEB_IDENTITY in str(r.inputs.get("assumeRolePolicy"))]
    assert len(roles) == 1, f"expected one role trusting web identities, found {len(roles)}"
    return roles[0]


def trust_expectation(stack: Stack) -> TrustExpectation:
    eks = stack.one(EKS_CLUSTER).outputs
    return TrustExpectation(
        provider_arn=eks["oidcProviderArn"], issuer=eks["oidcIssuer"],
        namespace=setting(stack, "namespace", "demo"),
        service_account=setting(stack, "serviceAccount", "demo-app"),
        role_arn=irsa_role(stack).outputs["arn"])


def connect_expectation(stack: Stack) -> ConnectExpectation:
    cluster = stack.one(RDS_CLUSTER).outputs
    return ConnectExpectation(
        partition=stack.partition, region=stack.region, account_id=stack.account_id,
        resource_id=cluster["clusterResourceId"],
        db_user=setting(stack, "iamDbUser", "app_user"),
        cluster_identifier=cluster["clusterIdentifier"])


def check_trust_policy(stack: Stack) -> None:
    """The mode's role and only it: under Pod Identity no role trusts web identities, under IRSA
    no role trusts the EKS Auth service."""
    if identity_mode(stack) == "pod-identity":
        check_pod_identity_trust_document(pod_identity_role(stack).inputs["assumeRolePolicy"],
                                          pod_identity_expectation(stack))
        web = [r.name for r in stack.of_type(IAM_ROLE)
               if WEB_IDENTITY in str(r.inputs.get("assumeRolePolicy"))]
        assert not web, f"roles trusting web identities in pod-identity mode: {web}"
        return
    check_trust_document(irsa_role(stack).inputs["assumeRolePolicy"], trust_expectation(stack))
    pods = [r.name for r in stack.of_type(IAM_ROLE)
            if PODS_PRINCIPAL in str(r.inputs.get("assumeRolePolicy"))]
    assert not pods, f"roles trusting {PODS_PRINCIPAL} in irsa mode: {pods}"


def check_connect_policy(stack: Stack) -> None:
    """Exactly one inline policy on the app's role, and it is the exact connect policy."""
    role = app_role(stack)
    policies = [p for p in stack.of_type(ROLE_POLICY) if p.inputs.get("role") in (role.id,
                                                                               role.outputs["name"])]
    assert len(policies) == 1, f"the IRSA role must carry exactly one policy, has {len(policies)}"
    others = [p.name for p in stack.of_type(ROLE_POLICY) if p not in policies]
    assert not others, f"unexpected role policies: {others}"
    check_connect_document(policies[0].inputs["policy"], connect_expectation(stack))


def check_cluster(stack: Stack) -> None:
    """Aurora PostgreSQL, IAM auth on, encrypted, TLS forced by its parameter group."""
    cluster = stack.one(RDS_CLUSTER).inputs
    assert cluster["engine"] == "aurora-postgresql"
    assert cluster.get("iamDatabaseAuthenticationEnabled") is True, "IAM database auth is off"
    assert cluster.get("storageEncrypted") is True, "storage is not encrypted"
    groups = [g for g in stack.of_type(PARAMETER_GROUP)
              if g.outputs.get("name") == cluster.get("dbClusterParameterGroupName")]
    assert len(groups) == 1, "the cluster does not use the stack's cluster parameter group"
    group = groups[0].inputs
    major = setting(stack, "engineVersion", "16.4").split(".")[0]
    assert group["family"] == f"aurora-postgresql{major}"
    force_ssl = [p for p in group.get("parameters") or [] if p["name"] == "rds.force_ssl"]
    assert [p["value"] for p in force_ssl] == ["1"], "rds.force_ssl is not 1"
    assert "masterPassword" in cluster and cluster.get("manageMasterUserPassword") is not False
    instances = stack.of_type(RDS_INSTANCE)
    assert len(instances) == 1 and instances[0].inputs["clusterIdentifier"] == \
        stack.one(RDS_CLUSTER).id, "exactly one instance in the cluster"


def check_network_exposure(stack: Stack) -> None:
    """5432 only, only from the VPC (plus a dev stack's declared deployer blocks); prod private."""
    dev = setting(stack, "environment", "prod") == "dev"
    cluster = stack.one(RDS_CLUSTER)
    vpc = stack.one(VPC)
    groups = [g for g in stack.of_type(SECURITY_GROUP)
              if g.id in (cluster.inputs.get("vpcSecurityGroupIds") or [])]
    assert len(groups) == 1, "the cluster must have exactly its own security group"
    allowed = [vpc.outputs["cidrBlock"]]
    if dev:
        allowed += list(json.loads(stack.settings.get("dbAllowedCidrs") or "[]"))
    for rule in groups[0].inputs.get("ingress") or []:
        assert (rule["protocol"], int(rule["fromPort"]), int(rule["toPort"])) == ("tcp", 5432, 5432), \
            f"the database security group opens more than 5432: {rule}"
        assert set(rule.get("cidrBlocks") or []) <= set(allowed) and not rule.get(
            "ipv6CidrBlocks") and not rule.get("securityGroups"), \
            f"5432 is open beyond the VPC: {rule}"
    instance = stack.one(RDS_INSTANCE).inputs
    assert instance.get("publiclyAccessible", False) is dev, \
        "publicly accessible must be exactly the dev stacks"
    subnet_group = [g for g in stack.of_type(SUBNET_GROUP)
                    if g.outputs["name"] == cluster.inputs["dbSubnetGroupName"]]
    assert len(subnet_group) == 1
    subnets = {s.id: s for s in stack.of_type(SUBNET)}
    kinds = {"internal-elb" if "kubernetes.io/role/internal-elb" in (subnets[i].inputs.get("tags") or {})
             else "public" for i in subnet_group[0].inputs["subnetIds"]}
    assert kinds == ({"public"} if dev else {"internal-elb"}), \
        f"database subnets must be {'public' if dev else 'private'}, are {kinds}"
    zones = {subnets[i].inputs["availabilityZone"] for i in subnet_group[0].inputs["subnetIds"]}
    assert len(zones) >= 2, "the database subnets must span two availability zones"


def check_db_setup(stack: Stack) -> None:
    """The IAM login role, rds_iam for it only, and exactly the app's privileges."""
    user = setting(stack, "iamDbUser", "app_user")
    master = setting(stack, "masterUsername", "pgadmin")
    provider = stack.one(PG_PROVIDER).inputs
    assert provider["username"] == master and str(provider["superuser"]).lower() == "false"
    assert provider["sslmode"] in ("require", "verify-ca", "verify-full"), "the deployer's " \
        "connection to the database is not encrypted"
    roles = stack.of_type(PG_ROLE)
    assert [r.inputs["name"] for r in roles] == [user], "exactly one database role, the IAM user"
    role = roles[0].inputs
    assert role.get("login") is True
    for flag in ("superuser", "createDatabase", "createRole", "replication",
                 "bypassRowLevelSecurity"):
        assert role.get(flag, False) is False, f"the IAM user must not have {flag}"
    assert not role.get("password") and not role.get("passwordWo"), "the IAM user has a password"
    assert "rds_iam" not in (role.get("roles") or [])
    memberships = [(g.inputs["role"], g.inputs["grantRole"]) for g in stack.of_type(PG_GRANT_ROLE)]
    assert memberships == [(user, "rds_iam")], \
        f"rds_iam must be granted to {user} alone, memberships are {memberships}"
    grants = {(g.inputs["objectType"], g.inputs.get("schema")): sorted(g.inputs["privileges"])
              for g in stack.of_type(PG_GRANT) if g.inputs["role"] == user}
    assert grants == {
        ("database", None): ["CONNECT"],
        ("schema", "public"): ["CREATE", "USAGE"],
        ("table", "public"): ["DELETE", "INSERT", "SELECT", "UPDATE"],
        ("sequence", "public"): ["SELECT", "USAGE"],
    }, f"unexpected grants: {grants}"
    assert all(g.inputs["database"] == setting(stack, "dbName", "appdb")
               for g in stack.of_type(PG_GRANT))
    assert len(stack.of_type(PG_GRANT)) == 4
    defaults = {(d.inputs["owner"], d.inputs["objectType"]): sorted(d.inputs["privileges"])
                for d in stack.of_type(PG_DEFAULT_PRIVILEGES) if d.inputs["role"] == user}
    assert defaults == {
        (master, "table"): ["DELETE", "INSERT", "SELECT", "UPDATE"],
        (master, "sequence"): ["SELECT", "USAGE"],
    }, f"unexpected default privileges: {defaults}"


def _pod_spec(stack: Stack) -> Mapping[str, Any]:
    return stack.one(K8S_DEPLOYMENT).inputs["spec"]["template"]["spec"]


def _env(container: Mapping[str, Any]) -> dict[str, Any]:
    return {item["name"]: item.get("value") for item in container.get("env") or []}


def check_service_account(stack: Stack) -> None:
    """The annotated service account is the one the trust policy names, and names the role."""
    accounts = stack.of_type(K8S_SERVICE_ACCOUNT)
    assert len(accounts) == 1
    metadata = accounts[0].inputs["metadata"]
    assert (metadata["namespace"], metadata["name"]) == (
        setting(stack, "namespace", "demo"), setting(stack, "serviceAccount", "demo-app"))
    annotation = (metadata.get("annotations") or {}).get(IRSA_ANNOTATION)
    if identity_mode(stack) == "pod-identity":
        assert annotation is None, \
            f"the service account carries {IRSA_ANNOTATION} under Pod Identity: {annotation!r}"
        return
    assert annotation == irsa_role(stack).outputs["arn"], \
        f"the service account's {IRSA_ANNOTATION} is {annotation!r}, not the IRSA role's ARN"
    subject = f"system:serviceaccount:{metadata['namespace']}:{metadata['name']}"
    assert subject in str(irsa_role(stack).inputs["assumeRolePolicy"])


def check_deployment(stack: Stack) -> None:
    """The pods run under that service account with an environment that agrees with the rest."""
    deployment = stack.one(K8S_DEPLOYMENT).inputs
    account = stack.one(K8S_SERVICE_ACCOUNT).inputs["metadata"]
    assert deployment["metadata"]["namespace"] == account["namespace"]
    spec = _pod_spec(stack)
    assert spec.get("serviceAccountName") == account["name"], \
        f"the pods run as {spec.get('serviceAccountName')!r}, not {account['name']!r}"
    assert spec["securityContext"]["runAsNonRoot"] is True
    containers = spec["containers"]
    assert len(containers) == 1
    container = containers[0]
    env = _env(container)
    cluster = stack.one(RDS_CLUSTER).outputs
    connect = connect_expectation(stack)
    assert env.get("DB_USER") == connect.db_user == stack.one(PG_ROLE).inputs["name"], \
        "DB_USER, the connect policy's user and the database role disagree"
    assert env.get("DB_HOST") == cluster["endpoint"]
    assert env.get("DB_PORT") == str(int(cluster["port"]))
    assert env.get("DB_NAME") == setting(stack, "dbName", "appdb")
    assert env.get("AWS_REGION") == stack.region
    assert env.get("PGSSLMODE") == "verify-full", "the pod does not verify the database server"
    assert env.get("PGSSLROOTCERT"), "the pod has no CA bundle to verify the server with"
    probes = {kind: container[kind]["httpGet"]["path"] for kind in ("readinessProbe",
                                                                     "livenessProbe")}
    assert probes == {"readinessProbe": "/readyz", "livenessProbe": "/healthz"}
    assert container["securityContext"]["allowPrivilegeEscalation"] is False


STATIC_KEY_ID = re.compile(r"\b(?:AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}\b")
CREDENTIAL_ENV = frozenset({"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                            "AWS_SECURITY_TOKEN", "PGPASSWORD", "DB_PASSWORD"})
CREDENTIAL_PROVIDER_INPUTS = frozenset({"accessKey", "secretKey", "token", "sharedCredentialsFiles",
                                        "profile"})


def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, Mapping):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, Sequence):
        for item in value:
            yield from _strings(item)


def _containers(spec: Mapping[str, Any]) -> Iterable[Mapping[str, Any]]:
    for kind in ("containers", "initContainers", "ephemeralContainers"):
        yield from spec.get(kind) or []


def check_no_static_credentials(stack: Stack) -> None:
    """No access key, secret key or password anywhere a pod or a provider could read it."""
    findings = []
    for resource in stack.resources:
        for text in _strings(resource.inputs):
            if STATIC_KEY_ID.search(text):
                findings.append(f"{resource.name}: an AWS access key id")
        if resource.type == "aws:iam/accessKey:AccessKey":
            findings.append(f"{resource.name}: an IAM access key")
        if resource.type == "pulumi:providers:aws":
            findings += [f"{resource.name}: provider input {key}"
                         for key in CREDENTIAL_PROVIDER_INPUTS & set(resource.inputs)]
        if resource.type == "kubernetes:core/v1:Secret":
            data = {**(resource.inputs.get("data") or {}),
                    **(resource.inputs.get("stringData") or {})}
            findings += [f"{resource.name}: secret key {key}" for key in data
                         if key.upper() in CREDENTIAL_ENV or "aws" in key.lower()]
        spec = resource.inputs.get("spec") or {}
        pod = (spec.get("template") or {}).get("spec") or spec
        for container in _containers(pod):
            findings += [f"{resource.name}: container env {item['name']}"
                         for item in container.get("env") or []
                         if item["name"].upper() in CREDENTIAL_ENV]
            if container.get("envFrom"):
                findings.append(f"{resource.name}: envFrom (an unchecked source of variables)")
    assert not findings, f"static credentials: {findings}"


def check_outputs(stack: Stack) -> None:
    """The contract's stack outputs, equal to the values they stand for; kubeconfig secret."""
    expected = {
        "clusterEndpoint": stack.one(RDS_CLUSTER).outputs["endpoint"],
        "clusterPort": stack.one(RDS_CLUSTER).outputs["port"],
        "clusterResourceId": stack.one(RDS_CLUSTER).outputs["clusterResourceId"],
        "iamRoleArn": app_role(stack).outputs["arn"],
        "identityMode": identity_mode(stack),
        "iamDbUser": setting(stack, "iamDbUser", "app_user"),
        "dbName": setting(stack, "dbName", "appdb"),
        "namespace": setting(stack, "namespace", "demo"),
        "serviceAccount": setting(stack, "serviceAccount", "demo-app"),
    }
    got = {key: stack.outputs.get(key) for key in expected}
    assert got == expected, f"outputs differ: {got} != {expected}"
    service = stack.one(K8S_SERVICE).outputs
    hostname = service["status"]["loadBalancer"]["ingress"][0]["hostname"]
    assert stack.outputs["appUrl"] == f"http://{hostname}"
    assert "kubeconfig" in stack.secret_outputs, "kubeconfig is not a secret output"
    assert set(stack.outputs) == set(expected) | {"appUrl", "kubeconfig"}


def check_pod_identity(stack: Stack) -> None:
    """Pod Identity mode: the agent add-on and exactly one association, binding the app's
    namespace and service account on this cluster to the Pod Identity role. IRSA mode: none."""
    associations = stack.of_type(POD_IDENTITY_ASSOCIATION)
    addons = [a for a in stack.of_type(EKS_ADDON)
              if a.inputs.get("addonName") == "eks-pod-identity-agent"]
    if identity_mode(stack) != "pod-identity":
        assert not associations and not addons, "Pod Identity resources in irsa mode"
        return
    cluster_name = stack.one(EKS_CLUSTER).outputs["name"]
    assert len(addons) == 1 and addons[0].inputs.get("clusterName") == cluster_name, \
        "the eks-pod-identity-agent add-on is not installed on the cluster"
    assert len(associations) == 1, f"expected one association, found {len(associations)}"
    association = associations[0].inputs
    expect = pod_identity_expectation(stack)
    account = stack.one(K8S_SERVICE_ACCOUNT).inputs["metadata"]
    got = (association.get("clusterName"), association.get("namespace"),
           association.get("serviceAccount"), association.get("roleArn"))
    want = (cluster_name, account["namespace"], account["name"], expect.role_arn)
    assert got == want, f"the association binds {got}, not {want}"
    assert (expect.namespace, expect.service_account) == (account["namespace"], account["name"])


STACK_CHECKS = (check_pod_identity, check_cluster, check_network_exposure, check_trust_policy, check_connect_policy,
                check_db_setup, check_service_account, check_deployment,
                check_no_static_credentials, check_outputs)


def failing_checks(stack: Stack) -> dict[str, str]:
    """Name -> message of every stack check that fails."""
    failures = {}
    for check in STACK_CHECKS:
        try:
            check(stack)
        except AssertionError as error:
            failures[check.__name__] = str(error)
    return failures
