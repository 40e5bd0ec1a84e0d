"""RDS: IAM database authentication, storage encryption, public access, TLS forced.

Types: ``aws:rds/cluster:Cluster`` (Aurora and Multi-AZ DB clusters), ``aws:rds/instance:Instance``
(single instances), ``aws:rds/clusterInstance:ClusterInstance`` (a cluster's instances: public
access is theirs; IAM auth and encryption are the cluster's), ``aws:rds/proxy:Proxy`` (an RDS
Proxy in front of them: clients authenticate to the proxy, so IAM auth and TLS are its own).
Absent inputs are the provider's defaults: IAM auth off, storage not encrypted (clusters and
instances), publicly accessible off (instances; a Multi-AZ DB cluster without a DB subnet group
is public), proxy IAM auth ``DISABLED`` and TLS not required.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from .model import Deferred, Finding, Resource, RuleContext, Violation, message
from .props import get, is_unknown, items, text, truth

CLUSTER = "aws:rds/cluster:Cluster"
INSTANCE = "aws:rds/instance:Instance"
CLUSTER_INSTANCE = "aws:rds/clusterInstance:ClusterInstance"
CLUSTER_PARAMETER_GROUP = "aws:rds/clusterParameterGroup:ClusterParameterGroup"
PARAMETER_GROUP = "aws:rds/parameterGroup:ParameterGroup"
PROXY = "aws:rds/proxy:Proxy"
GLOBAL_CLUSTER = "aws:rds/globalCluster:GlobalCluster"
# Proxy engine families whose clients can authenticate with IAM auth tokens.
IAM_AUTH_PROXY_FAMILIES = frozenset({"POSTGRESQL", "MYSQL"})
# Engines whose databases accept IAM auth tokens (RDS User Guide, "IAM database
# authentication": MariaDB, MySQL, PostgreSQL and their Aurora editions; "aurora" is Aurora MySQL
# 5.6).
IAM_AUTH_ENGINES = frozenset({"aurora-postgresql", "postgres", "aurora-mysql", "mysql", "mariadb",
                              "aurora"})
POSTGRES_ENGINES = frozenset({"aurora-postgresql", "postgres"})
MYSQL_ENGINES = frozenset({"aurora-mysql", "mysql", "mariadb", "aurora"})


def _engine(resource: Resource) -> str | None:
    value = resource.props.get("engine")
    return None if value is None or is_unknown(value) else str(value).lower()


# Inputs that make a database take its engine from elsewhere (a source database, a snapshot,
# a point in time, a global cluster), so that ``engine`` may be left out.
ENGINE_SOURCES = ("replicateSourceDb", "replicationSourceIdentifier", "snapshotIdentifier",
                  "restoreToPointInTime", "globalClusterIdentifier", "s3Import")


def inherited_engine_source(resource: Resource) -> str | None:
    """What a database without ``engine`` takes its engine from (``replicateSourceDb 'x'``), or
    None. The engine is then not knowable here: the rules judge it as possibly PostgreSQL, and say
    so, rather than skip it."""
    for prop in ENGINE_SOURCES:
        value = resource.props.get(prop)
        if value is None or value == "" or value == {}:
            continue
        shown = text(value)
        return f"{prop} {shown!r}" if shown else prop
    return None


def resolved_engine(resource: Resource, resources: Sequence[Resource]) -> str | None:
    """The engine, else the engine of the stack's database (or global cluster) it inherits it
    from, else ``postgres`` (possibly PostgreSQL) when it inherits one from outside the stack."""
    engine = _engine(resource)
    if engine is not None or inherited_engine_source(resource) is None:
        return engine
    for prop in ENGINE_SOURCES:
        value = resource.props.get(prop)
        if value is None:
            continue
        for source in resources:
            if source.urn == resource.urn or source.type not in (CLUSTER, INSTANCE, GLOBAL_CLUSTER):
                continue
            named = {text(source.props.get(key)) for key in ("identifier", "clusterIdentifier",
                                                             "globalClusterIdentifier", "arn", "id")}
            if (text(value) and text(value) in named) or \
                    source.urn in resource.property_dependencies.get(prop, ()):
                found = _engine(source)
                if found is not None:
                    return found
    return "postgres"


def _where(resource: Resource, prop: str) -> str:
    return f"{resource.urn} .{prop}"


# ------------------------------------------------------------------------------------------

def _proxy_iam_auth(resource: Resource) -> Iterator[Finding]:
    """An RDS Proxy for PostgreSQL/MySQL accepts IAM tokens from its clients: end-to-end IAM
    (``defaultAuthScheme: IAM_AUTH``), or ``iamAuth: REQUIRED`` on every ``auths`` entry (an
    entry left ``DISABLED``, the default, lets its users in with a password)."""
    family = resource.props.get("engineFamily")
    if is_unknown(family):
        yield Deferred(resource.urn, "the proxy's engineFamily is not known yet")
        return
    if str(family or "").upper() not in IAM_AUTH_PROXY_FAMILIES:
        return
    scheme = resource.props.get("defaultAuthScheme")
    if is_unknown(scheme):
        yield Deferred(resource.urn, ".defaultAuthScheme is not known yet")
        return
    if str(scheme or "").upper() == "IAM_AUTH":
        return
    auths = resource.props.get("auths")
    if is_unknown(auths):
        yield Deferred(resource.urn, ".auths is not known yet")
        return
    entries = items(auths)
    fix = ("set iam_auth=\"REQUIRED\" on every auths entry (or default_auth_scheme=\"IAM_AUTH\" "
           "for end-to-end IAM authentication)")
    if not entries:
        yield Violation(resource.urn, message(
            "The RDS Proxy has neither default_auth_scheme IAM_AUTH nor auths entries: clients "
            "cannot log in with IAM auth tokens.", _where(resource, "auths"), fix))
        return
    for index, entry in enumerate(entries):
        value = get(entry, "iamAuth")
        if is_unknown(entry) or is_unknown(value):
            yield Deferred(resource.urn, f".auths[{index}].iamAuth is not known yet")
        elif str(value or "DISABLED").upper() != "REQUIRED":
            yield Violation(resource.urn, message(
                f"The RDS Proxy's auths[{index}] has iamAuth {str(value or 'DISABLED')!r} "
                "(the default is DISABLED): its users log in through the proxy with a password, "
                "and IAM auth tokens are refused.", _where(resource, f"auths[{index}].iamAuth"),
                fix))


def check_iam_auth(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """Clusters and instances of an IAM-capable engine have IAM database authentication on;
    so does an RDS Proxy in front of them."""
    if resource.type == PROXY:
        yield from _proxy_iam_auth(resource)
        return
    if resource.type not in (CLUSTER, INSTANCE):
        return
    engine_value = resource.props.get("engine")
    if is_unknown(engine_value):
        yield Deferred(resource.urn, "the engine is not known yet, so whether IAM database "
                                     "authentication applies is checked at update")
        return
    engine = _engine(resource)
    inherited = inherited_engine_source(resource) if engine is None else None
    if inherited is not None:
        engine = f"({inherited}: engine not set, possibly PostgreSQL)"
    elif engine is None or engine not in IAM_AUTH_ENGINES:
        return
    if resource.type == CLUSTER and text(resource.props.get("engineMode")) == "serverless":
        yield Violation(resource.urn, message(
            f"Aurora Serverless v1 (engineMode serverless, engine {engine}) does not support IAM "
            "database authentication: no IAM auth token will ever be accepted.",
            _where(resource, "engineMode"),
            "use engineMode provisioned (with serverlessv2ScalingConfiguration for Serverless "
            "v2) and set iamDatabaseAuthenticationEnabled: true"))
        return
    enabled = truth(resource.props.get("iamDatabaseAuthenticationEnabled"), default=False)
    if enabled is None:
        yield Deferred(resource.urn, ".iamDatabaseAuthenticationEnabled is not known yet")
    elif not enabled:
        kind = "cluster" if resource.type == CLUSTER else "instance"
        yield Violation(resource.urn, message(
            f"This {engine} {kind} has IAM database authentication disabled "
            "(iamDatabaseAuthenticationEnabled is false or not set): every IAM auth token is "
            "refused and clients fall back to passwords.",
            _where(resource, "iamDatabaseAuthenticationEnabled"),
            "set iam_database_authentication_enabled=True on the "
            f"{'aws.rds.Cluster' if resource.type == CLUSTER else 'aws.rds.Instance'}"))


def check_storage_encrypted(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """Clusters, instances and global clusters encrypt their storage (replicas, and a global
    cluster made from an existing cluster, inherit their source's)."""
    props = resource.props
    if resource.type == GLOBAL_CLUSTER:
        if props.get("sourceDbClusterIdentifier") is None:
            encrypted = truth(props.get("storageEncrypted"), default=False)
            if encrypted is None:
                yield Deferred(resource.urn, ".storageEncrypted is not known yet")
            elif not encrypted:
                yield Violation(resource.urn, message(
                    "The global cluster does not encrypt its storage (storageEncrypted is false "
                    "or not set): its member clusters cannot be encrypted either.",
                    _where(resource, "storageEncrypted"),
                    "set storage_encrypted=True on the aws.rds.GlobalCluster"))
        return
    if resource.type not in (CLUSTER, INSTANCE):
        return
    if resource.type == INSTANCE and props.get("replicateSourceDb") is not None:
        return
    if resource.type == CLUSTER and text(props.get("engineMode")) == "serverless":
        return   # Aurora Serverless v1 storage is always encrypted
    encrypted = truth(props.get("storageEncrypted"), default=False)
    if encrypted is None:
        yield Deferred(resource.urn, ".storageEncrypted is not known yet")
        return
    if encrypted:
        return
    snapshot = props.get("snapshotIdentifier")
    if props.get("storageEncrypted") is None and snapshot not in (None, ""):
        # A restore takes the snapshot's encryption, which is not visible here.
        yield Deferred(resource.urn, f".storageEncrypted is not set: the storage takes the "
                                     f"encryption of the snapshot {text(snapshot) or '(unknown)'!r}, "
                                     "which the pack cannot see; set storage_encrypted=True")
        return
    kms = props.get("kmsKeyId")
    note = (" (a kmsKeyId is set, but without storageEncrypted the storage stays "
            "unencrypted)" if kms not in (None, "") and not is_unknown(kms) else "")
    yield Violation(resource.urn, message(
        f"Storage is not encrypted at rest{note}; it cannot be turned on later without a "
        "snapshot restore.",
        _where(resource, "storageEncrypted"),
        "set storage_encrypted=True (optionally kms_key_id=<your KMS key ARN>)"))


def _public_by_default(resource: Resource) -> bool | None:
    """Whether the provider makes the database public when ``publiclyAccessible`` is not set:
    a Multi-AZ DB cluster (``dbClusterInstanceClass``, not Aurora) without a DB subnet group (or
    with ``default``) is (pulumi-aws ``rds.Cluster.publicly_accessible``); instances are not."""
    if resource.type != CLUSTER:
        return False
    props = resource.props
    engine, instance_class = props.get("engine"), props.get("dbClusterInstanceClass")
    if instance_class is None or str(engine or "").lower().startswith("aurora"):
        return False
    subnet_group = props.get("dbSubnetGroupName")
    if is_unknown(engine) or is_unknown(instance_class) or is_unknown(subnet_group):
        return None
    return subnet_group in (None, "", "default")


def check_not_public(resource: Resource, ctx: RuleContext) -> Iterator[Finding]:
    """Instances (also a cluster's, and Multi-AZ DB clusters) are not publicly accessible,
    except on allowed stacks."""
    if resource.type not in (INSTANCE, CLUSTER_INSTANCE, CLUSTER):
        return
    value = resource.props.get("publiclyAccessible")
    default = _public_by_default(resource) if value is None else False
    public = None if default is None else truth(value, default=default)
    if public is None:
        yield Deferred(resource.urn, ".publiclyAccessible is not known yet")
        return
    if not public:
        return
    allowed = list(ctx.setting("allowedStacks", []) or [])
    if ctx.stack and ctx.stack_matches(allowed):
        return
    allowed_text = ", ".join(allowed) if allowed else "none configured"
    kind = "Multi-AZ DB cluster" if resource.type == CLUSTER else "database instance"
    how = (" by default: it has no DB subnet group of its own" if value is None else "")
    yield Violation(resource.urn, message(
        f"The {kind} is publicly accessible{how} (it gets a public address) on stack "
        f"{ctx.stack or '(unknown)'!r}, which is not one where public databases are allowed "
        f"({allowed_text}).",
        _where(resource, "publiclyAccessible"),
        "set publicly_accessible=False (and a private db_subnet_group_name) and reach the "
        "database from inside the VPC; for a throw-away stack add its name pattern to this "
        "policy's allowedStacks"))


# ------------------------------------------------------------------------------------------
# TLS forced (stack rule: the parameter group is another resource)
# ------------------------------------------------------------------------------------------

def _parameters(group: Resource) -> tuple[dict[str, str], bool]:
    """name (lower case) -> value of a parameter group's ``parameters``; and whether any is
    unknown."""
    values: dict[str, str] = {}
    unknown = is_unknown(group.props.get("parameters"))
    for item in items(group.props.get("parameters")):
        if is_unknown(item) or not isinstance(item, dict):
            unknown = True
            continue
        name, value = item.get("name"), item.get("value")
        if is_unknown(name) or is_unknown(value):
            unknown = True
            continue
        if name is not None:
            values[str(name).lower()] = text(value) or ""
    return values, unknown


def _linked_groups(resource: Resource, prop: str, group_type: str,
                   resources: Sequence[Resource]) -> tuple[list[Resource], bool]:
    """The parameter groups ``resource.prop`` names: by name, or by the property's dependency
    when the name is not known yet; and whether the link itself is unknown."""
    value = resource.props.get(prop)
    groups = [other for other in resources if other.type == group_type]
    by_dependency = [group for group in groups
                     if group.urn in resource.property_dependencies.get(prop, ())]
    if by_dependency:
        return by_dependency, False
    if value is None:
        return [], False
    if is_unknown(value):
        return [], True
    named = [group for group in groups
             if text(group.props.get("name")) == str(value) or group.name == str(value)]
    return named, False


def _default_forces_tls(resource: Resource, engine: str) -> bool:
    """RDS for PostgreSQL 15 and later sets rds.force_ssl=1 in its default parameter groups."""
    version = text(resource.props.get("engineVersion")) or ""
    major = version.split(".", 1)[0]
    return engine == "postgres" and major.isdigit() and int(major) >= 15


def _tls_parameter(engine: str) -> tuple[str, str]:
    if engine in POSTGRES_ENGINES:
        return "rds.force_ssl", "1"
    return "require_secure_transport", "ON"


def _forces_tls(parameters: dict[str, str], engine: str) -> bool:
    name, _ = _tls_parameter(engine)
    return parameters.get(name, "").strip().lower() in ("1", "on", "true")


def _proxy_requires_tls(proxy: Resource) -> Iterator[Finding]:
    family = proxy.props.get("engineFamily")
    if is_unknown(family) or str(family or "").upper() not in IAM_AUTH_PROXY_FAMILIES:
        return
    required = truth(proxy.props.get("requireTls"), default=False)
    if required is None:
        yield Deferred(proxy.urn, ".requireTls is not known yet")
    elif not required:
        yield Violation(proxy.urn, message(
            "The RDS Proxy does not require TLS (requireTls is false or not set): clients may "
            "send their IAM auth token to it unencrypted.", _where(proxy, "requireTls"),
            "set require_tls=True on the aws.rds.Proxy"))


def check_force_ssl(resources: Sequence[Resource], ctx: RuleContext) -> Iterator[Finding]:
    """Each IAM-capable database links a parameter group that forces TLS; each RDS Proxy
    requires TLS."""
    for resource in resources:
        if resource.type == PROXY:
            yield from _proxy_requires_tls(resource)
            continue
        if resource.type not in (CLUSTER, INSTANCE):
            continue
        engine = resolved_engine(resource, resources)
        if engine is None or engine not in IAM_AUTH_ENGINES:
            continue
        if resource.type == CLUSTER:
            prop, group_type = "dbClusterParameterGroupName", CLUSTER_PARAMETER_GROUP
        else:
            prop, group_type = "parameterGroupName", PARAMETER_GROUP
        parameter, value = _tls_parameter(engine)
        groups, unknown_link = _linked_groups(resource, prop, group_type, resources)
        if unknown_link:
            yield Deferred(resource.urn, f".{prop} is not known yet, nor does it depend on a "
                                         "parameter group of this stack")
            continue
        if not groups:
            named = text(resource.props.get(prop))
            if not named and _default_forces_tls(resource, engine):
                continue
            what = (f"uses the parameter group {named!r}, which is not in this stack"
                    if named else "uses the engine's default parameter group")
            if named and not named.startswith("default."):
                yield Deferred(resource.urn, f"{prop} names {named!r}, a parameter group "
                                             "outside this stack: whether it forces TLS is not "
                                             "known to the pack")
                continue
            yield Violation(resource.urn, message(
                f"The database {what}, which does not set {parameter}={value}: clients may "
                "connect without TLS.",
                f"{resource.urn} .{prop}",
                f"create a {group_type.split(':')[-1]} with {parameter}={value} and set "
                f"{prop} to its name"))
            continue
        for group in groups:
            parameters, unknown = _parameters(group)
            if _forces_tls(parameters, engine):
                continue
            if unknown:
                yield Deferred(group.urn, f"the parameters of the group {resource.urn} uses are "
                                          "not all known yet")
                continue
            current = parameters.get(parameter)
            yield Violation(group.urn, message(
                f"The parameter group used by {resource.urn} does not force TLS "
                f"({parameter} is {current!r} rather than {value!r}).",
                f"{group.urn} .parameters",
                f"add the parameter {{name: {parameter!r}, value: {value!r}}}"))


def engines_of(resources: Iterable[Resource]) -> set[str]:
    return {engine for resource in resources if (engine := _engine(resource))}


def master_usernames(resources: Iterable[Resource]) -> list[tuple[Resource, object]]:
    """(database, master user name or unknown) of every cluster and instance."""
    found: list[tuple[Resource, object]] = []
    for resource in resources:
        if resource.type == CLUSTER:
            found.append((resource, get(resource.props, "masterUsername")))
        elif resource.type == INSTANCE:
            found.append((resource, get(resource.props, "username")))
    return found
