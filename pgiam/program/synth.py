"""Realistic computed values for resources and data sources, for Pulumi's mock runtime.

Under mocks nothing is created: whatever a resource's provider would compute (ids, ARNs, the
cluster's ``clusterResourceId``, endpoints, an EKS cluster's OIDC issuer, a Service's load
balancer) comes from here, and so do the answers of data sources (caller identity, region,
partition, availability zones, ``aws.iam.get_policy_document``). The values have the shapes AWS,
Kubernetes and the providers give them, so that code reading them (the program's own
``apply``s, the policy pack, the unit tests) meets what it meets after ``pulumi up``.

Two type-keyed registries hold the synthesizers:

* :data:`RESOURCE_SYNTHS`: resource type token -> ``fn(request) -> (id, computed)``; the state
  returned to the program is the inputs overlaid with ``computed``;
* :data:`CALL_SYNTHS`: function token -> ``fn(context, args) -> result``.

Add a type with the decorators ``@resource_synth("pkg:module/type:Type")`` and
``@call_synth("pkg:module/fn:fn")``. A resource type nobody registered gets the generic answer
(an id, its inputs echoed, and an ``arn`` when it is an AWS type); a data source nobody
registered raises :class:`UnknownCallError` naming it, rather than answering something made up.

Values are deterministic: they derive from the context's seed, the type and the resource name,
so the same program gives the same ids on every run. Every key is an engine (camelCase) name:
the mock runtime silently drops snake_case keys.
"""

from __future__ import annotations

import base64
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from .iam_policy_document import render_policy_document
from .sdk_types import UNKNOWN_WIRE, arn_service, call_result, echoed_inputs, resource_class, resource_outputs

# ------------------------------------------------------------------------------------------
# Context and the request a synthesizer receives
# ------------------------------------------------------------------------------------------

DNS_SUFFIXES = {
    "aws": "amazonaws.com",
    "aws-cn": "amazonaws.com.cn",
    "aws-us-gov": "amazonaws.com",
    "aws-iso": "c2s.ic.gov",
    "aws-iso-b": "sc2s.sgov.gov",
    "aws-iso-e": "cloud.adc-e.uk",
    "aws-iso-f": "csp.hci.ic.gov",
    "aws-eusc": "amazonaws.eu",
}
# A fixed instant, so that timestamps do not change between runs either.
EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)
_UPPER_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789"
_HEX = "0123456789abcdef"
_DIGITS = "0123456789"


class UnknownCallError(LookupError):
    """A data source (invoke) has no synthesizer."""

    def __init__(self, token: str) -> None:
        super().__init__(f"no synthesized answer for the data source {token!r} under the mock "
                         "runtime (register one with pgiam.program.synth.call_synth)")
        self.token = token


@dataclass(frozen=True)
class CloudContext:
    """Where the synthesized resources live."""

    account_id: str = "123456789012"
    region: str = "us-east-1"
    partition: str = "aws"
    seed: str = "pgiam"

    def __post_init__(self) -> None:
        if self.partition not in DNS_SUFFIXES:
            raise ValueError(f"partition: unknown AWS partition {self.partition!r} "
                             f"(one of {', '.join(sorted(DNS_SUFFIXES))})")
        if not (len(self.account_id) == 12 and self.account_id.isdigit()):
            raise ValueError(f"account_id: must be 12 digits, got {self.account_id!r}")

    @property
    def dns_suffix(self) -> str:
        return DNS_SUFFIXES[self.partition]

    def arn(self, service: str, resource: str, *, regional: bool = True,
            with_account: bool = True) -> str:
        region = self.region if regional else ""
        account = self.account_id if with_account else ""
        return f"arn:{self.partition}:{service}:{region}:{account}:{resource}"

    def zones(self, count: int = 3) -> list[str]:
        return [f"{self.region}{letter}" for letter in "abcdef"[:count]]


def deterministic_text(seed: str, length: int, alphabet: str) -> str:
    """``length`` characters of ``alphabet`` derived from ``seed`` (SHAKE-256 stream)."""
    stream = hashlib.shake_256(seed.encode("utf-8")).digest(length)
    return "".join(alphabet[byte % len(alphabet)] for byte in stream)


@dataclass(frozen=True)
class ResourceRequest:
    """One resource registration: its type, logical name and engine-named inputs."""

    context: CloudContext
    type: str
    name: str
    inputs: Mapping[str, Any]
    custom: bool = True

    def text(self, length: int, alphabet: str = _LOWER_ALNUM, salt: str = "") -> str:
        return deterministic_text(f"{self.context.seed}|{self.type}|{self.name}|{salt}",
                                  length, alphabet)

    def hex_id(self, prefix: str, length: int = 17) -> str:
        """EC2-style ids: ``vpc-0a1b2c...``."""
        return f"{prefix}-{self.text(length, _HEX, 'id')}"

    def upper_id(self, prefix: str, length: int) -> str:
        """RDS/IAM-style ids: ``cluster-ABC...``, ``AROA...``."""
        return f"{prefix}{self.text(length, _UPPER_ALNUM, prefix)}"

    def autoname(self, key: str = "name", *, lower: bool = False, separator: str = "-") -> str:
        """The input ``key`` when set, else Pulumi's auto-name: ``<name>-<7 hex>``."""
        value = self.inputs.get(key)
        if isinstance(value, str) and value:
            return value
        name = f"{self.name}{separator}{self.text(7, _HEX, 'autoname')}"
        return name.lower() if lower else name

    def uuid(self, salt: str = "") -> str:
        return str(uuid.UUID(bytes=hashlib.shake_256(
            f"{self.context.seed}|{self.type}|{self.name}|uuid|{salt}".encode()).digest(16)))


@dataclass(frozen=True)
class ChildResource:
    """An output that is a reference to a resource a remote component created (pulumi-eks's
    ``core.oidcProvider``, ``eksCluster``): the mocks register it, unseen by the program's own
    registrations, so that the SDK can rehydrate the reference (``pulumi:pulumi:getResource``)."""

    type: str
    name: str
    id: str
    state: Mapping[str, Any]


Computed = dict[str, Any]
ResourceSynth = Callable[[ResourceRequest], tuple[str, Computed]]
CallSynth = Callable[[CloudContext, Mapping[str, Any]], dict[str, Any]]

RESOURCE_SYNTHS: dict[str, ResourceSynth] = {}
CALL_SYNTHS: dict[str, CallSynth] = {}


def resource_synth(*types: str) -> Callable[[ResourceSynth], ResourceSynth]:
    def register(fn: ResourceSynth) -> ResourceSynth:
        for type_ in types:
            RESOURCE_SYNTHS[type_] = fn
        return fn
    return register


def call_synth(*tokens: str) -> Callable[[CallSynth], CallSynth]:
    def register(fn: CallSynth) -> CallSynth:
        for token in tokens:
            CALL_SYNTHS[token] = fn
        return fn
    return register


def synthesize_resource(context: CloudContext, type_: str, name: str,
                        inputs: Mapping[str, Any], custom: bool = True, *,
                        read: bool = False) -> tuple[str, dict]:
    """The id and the full state (inputs overlaid with computed values) of one resource."""
    request = ResourceRequest(context, type_, name, inputs, custom)
    synth = RESOURCE_SYNTHS.get(type_)
    if synth is None:
        synth = _kubernetes_object if type_.startswith("kubernetes:") else _generic
    resource_id, computed = synth(request)
    if not custom and resource_class(type_) is not None:
        # A provider's component (awsx's Vpc, pulumi-eks's node groups): its state is the
        # outputs it declares. An input is echoed only where it has the shape of the output of
        # that name: awsx's ``natGateways`` input is a strategy, its output the NAT gateways made.
        echoed = {key: value for key, value in echoed_inputs(type_, inputs).items()
                  if value != UNKNOWN_WIRE}
        generic = resource_outputs(context, type_, name, echoed,
                                   identifiers_only=type_ in RESOURCE_SYNTHS)
        return resource_id, {**generic, **echoed, **computed}
    # Every output the SDK declares and nobody synthesized: typed, deterministic, shaped by its
    # name (sdk_types); the hand-written values above win.
    generic = resource_outputs(context, type_, name, inputs, read=read,
                               identifiers_only=type_ in RESOURCE_SYNTHS and not read) \
        if custom else {}
    return resource_id, {**generic, **echoed_inputs(type_, inputs), **computed}


def synthesize_call(context: CloudContext, token: str, args: Mapping[str, Any]) -> dict:
    """The result of one data source call: its synthesizer's, else one built from the SDK's result
    class (:mod:`pgiam.program.sdk_types`); :class:`UnknownCallError` when no installed package
    declares the function."""
    synth = CALL_SYNTHS.get(token)
    result = call_result(context, token, args)
    if synth is not None:
        # the hand-written fields win; the SDK's result class fills the ones it leaves out
        return {**(result or {}), **synth(context, args)}
    if result is None:
        raise UnknownCallError(token)
    return result


def _generic(request: ResourceRequest) -> tuple[str, Computed]:
    """Anything not registered: an id; for a custom AWS resource a plausible ARN as well."""
    if not request.custom:
        return "", {}
    if request.type.startswith("pulumi:providers:"):
        return request.uuid("provider"), {}
    parts = request.type.split(":")
    if parts[0] in ("azure-native", "azure") and len(parts) == 3:
        resource_id = _azure_resource_id(request, parts)
        return resource_id, {"id": resource_id}
    resource_id = request.autoname()
    computed: Computed = {"id": resource_id}
    if parts[0] == "aws" and len(parts) == 3 and "arn" not in request.inputs:
        service = arn_service(request.type)
        kind = "".join(f"-{c.lower()}" if c.isupper() else c for c in parts[2]).lstrip("-")
        computed["arn"] = request.context.arn(service, f"{kind}/{resource_id}")
    return resource_id, computed


def _azure_resource_id(request: ResourceRequest, parts: list[str]) -> str:
    """An Azure Resource Manager id, as azure-native and azure resources have
    (``/subscriptions/<guid>/resourceGroups/<group>[/providers/Microsoft.<ns>/<types>/<name>]``):
    programs split it (``id.split("/")[2]`` is the subscription)."""
    subscription = str(uuid.UUID(bytes=hashlib.shake_256(
        f"{request.context.seed}|{request.context.account_id}|subscription".encode()).digest(16)))
    kind = parts[2].rsplit("/", 1)[-1].split("/")[-1]
    name = request.autoname("resourceGroupName" if kind == "ResourceGroup" else "name")
    if kind == "ResourceGroup":
        return f"/subscriptions/{subscription}/resourceGroups/{name}"
    group = request.inputs.get("resourceGroupName")
    group = group if isinstance(group, str) and group else f"{request.name}-rg"
    namespace = parts[1].split("/")[0]
    plural = f"{kind[:1].lower()}{kind[1:]}s"
    return (f"/subscriptions/{subscription}/resourceGroups/{group}/providers/"
            f"Microsoft.{namespace[:1].upper()}{namespace[1:]}/{plural}/{name}")


# ------------------------------------------------------------------------------------------
# AWS: EC2 networking
# ------------------------------------------------------------------------------------------

def _ec2_arn(request: ResourceRequest, kind: str, resource_id: str) -> str:
    return request.context.arn("ec2", f"{kind}/{resource_id}")


@resource_synth("aws:ec2/vpc:Vpc")
def _vpc(request: ResourceRequest) -> tuple[str, Computed]:
    vpc_id = request.hex_id("vpc")
    route_table = f"rtb-{request.text(17, _HEX, 'main-rtb')}"
    return vpc_id, {
        "arn": _ec2_arn(request, "vpc", vpc_id),
        "cidrBlock": request.inputs.get("cidrBlock") or "10.0.0.0/16",
        "enableDnsSupport": request.inputs.get("enableDnsSupport", True),
        "enableDnsHostnames": request.inputs.get("enableDnsHostnames", False),
        "instanceTenancy": request.inputs.get("instanceTenancy") or "default",
        "defaultSecurityGroupId": f"sg-{request.text(17, _HEX, 'default-sg')}",
        "defaultNetworkAclId": f"acl-{request.text(17, _HEX, 'default-acl')}",
        "defaultRouteTableId": route_table,
        "mainRouteTableId": route_table,
        "dhcpOptionsId": f"dopt-{request.text(17, _HEX, 'dopt')}",
        "ownerId": request.context.account_id,
    }


@resource_synth("aws:ec2/subnet:Subnet")
def _subnet(request: ResourceRequest) -> tuple[str, Computed]:
    subnet_id = request.hex_id("subnet")
    zone = request.inputs.get("availabilityZone") or request.context.zones(1)[0]
    return subnet_id, {
        "arn": _ec2_arn(request, "subnet", subnet_id),
        "availabilityZone": zone,
        "availabilityZoneId": f"{_zone_id_prefix(request.context.region)}-az{_zone_index(zone)}",
        "mapPublicIpOnLaunch": request.inputs.get("mapPublicIpOnLaunch", False),
        "ownerId": request.context.account_id,
    }


_ZONE_WORDS = {"northeast": "ne", "northwest": "nw", "southeast": "se", "southwest": "sw"}


def _zone_id_prefix(region: str) -> str:
    """AWS's zone-id prefix of a region: us-east-1 -> use1, ap-southeast-2 -> apse2,
    us-gov-west-1 -> usgw1, cn-northwest-1 -> cnnw1."""
    first, *words, number = region.split("-")
    return first + "".join(_ZONE_WORDS.get(word, word[0]) for word in words) + number


def _zone_index(zone: str) -> int:
    return "abcdef".index(zone[-1]) + 1 if zone[-1] in "abcdef" else 1


@resource_synth("aws:ec2/securityGroup:SecurityGroup")
def _security_group(request: ResourceRequest) -> tuple[str, Computed]:
    group_id = request.hex_id("sg")
    return group_id, {
        "arn": _ec2_arn(request, "security-group", group_id),
        "name": request.autoname(),
        "description": request.inputs.get("description") or "Managed by Pulumi",
        "ingress": request.inputs.get("ingress") or [],
        "egress": request.inputs.get("egress") or [],
        "ownerId": request.context.account_id,
    }


@resource_synth("aws:vpc/securityGroupIngressRule:SecurityGroupIngressRule",
                "aws:vpc/securityGroupEgressRule:SecurityGroupEgressRule")
def _security_group_rule_v2(request: ResourceRequest) -> tuple[str, Computed]:
    rule_id = request.hex_id("sgr")
    return rule_id, {"arn": _ec2_arn(request, "security-group-rule", rule_id),
                     "securityGroupRuleId": rule_id}


@resource_synth("aws:ec2/securityGroupRule:SecurityGroupRule")
def _security_group_rule(request: ResourceRequest) -> tuple[str, Computed]:
    rule_id = f"sgrule-{request.text(10, _DIGITS, 'id')}"
    return rule_id, {"securityGroupRuleId": request.hex_id("sgr")}


@resource_synth("aws:ec2/internetGateway:InternetGateway")
def _internet_gateway(request: ResourceRequest) -> tuple[str, Computed]:
    gateway_id = request.hex_id("igw")
    return gateway_id, {"arn": _ec2_arn(request, "internet-gateway", gateway_id),
                        "ownerId": request.context.account_id}


@resource_synth("aws:ec2/routeTable:RouteTable")
def _route_table(request: ResourceRequest) -> tuple[str, Computed]:
    table_id = request.hex_id("rtb")
    return table_id, {"arn": _ec2_arn(request, "route-table", table_id),
                      "routes": request.inputs.get("routes") or [],
                      "ownerId": request.context.account_id}


@resource_synth("aws:ec2/route:Route")
def _route(request: ResourceRequest) -> tuple[str, Computed]:
    return f"r-{request.inputs.get('routeTableId', 'rtb')}{request.text(10, _DIGITS, 'id')}", {}


@resource_synth("aws:ec2/routeTableAssociation:RouteTableAssociation")
def _route_table_association(request: ResourceRequest) -> tuple[str, Computed]:
    return request.hex_id("rtbassoc"), {}


def _public_ip(request: ResourceRequest) -> str:
    # TEST-NET-3 (RFC 5737): documentation addresses, never someone's real host.
    return f"203.0.113.{int(request.text(3, _DIGITS, 'ip')) % 254 + 1}"


@resource_synth("aws:ec2/eip:Eip")
def _eip(request: ResourceRequest) -> tuple[str, Computed]:
    allocation = request.hex_id("eipalloc")
    address = _public_ip(request)
    return allocation, {
        "allocationId": allocation,
        "arn": _ec2_arn(request, "elastic-ip", allocation),
        "domain": request.inputs.get("domain") or "vpc",
        "publicIp": address,
        "publicDns": f"ec2-{address.replace('.', '-')}.{request.context.region}.compute."
                     f"{request.context.dns_suffix}",
    }


@resource_synth("aws:ec2/natGateway:NatGateway")
def _nat_gateway(request: ResourceRequest) -> tuple[str, Computed]:
    return request.hex_id("nat"), {
        "publicIp": _public_ip(request),
        "privateIp": f"10.0.{int(request.text(2, _DIGITS, 'a'))}.{int(request.text(2, _DIGITS, 'b')) + 4}",
        "networkInterfaceId": f"eni-{request.text(17, _HEX, 'eni')}",
        "connectivityType": request.inputs.get("connectivityType") or "public",
    }


# ------------------------------------------------------------------------------------------
# AWS: RDS
# ------------------------------------------------------------------------------------------

ENGINE_PORTS = {"postgres": 5432, "aurora-postgresql": 5432, "mysql": 3306,
                "aurora-mysql": 3306, "mariadb": 3306, "oracle": 1521, "sqlserver": 1433}


def _engine_port(inputs: Mapping[str, Any]) -> int:
    if inputs.get("port"):
        return int(inputs["port"])
    engine = str(inputs.get("engine") or "")
    return next((port for prefix, port in ENGINE_PORTS.items() if engine.startswith(prefix)), 5432)


def _rds_host(request: ResourceRequest, identifier: str, middle: str) -> str:
    return f"{identifier}.{middle}.{request.context.region}.rds.{request.context.dns_suffix}"


@resource_synth("aws:rds/subnetGroup:SubnetGroup")
def _db_subnet_group(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname(lower=True)
    return name, {"name": name, "arn": request.context.arn("rds", f"subgrp:{name}"),
                  "vpcId": f"vpc-{request.text(17, _HEX, 'vpc')}"}


@resource_synth("aws:rds/clusterParameterGroup:ClusterParameterGroup")
def _cluster_parameter_group(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname(lower=True)
    return name, {"name": name, "arn": request.context.arn("rds", f"cluster-pg:{name}")}


@resource_synth("aws:rds/parameterGroup:ParameterGroup")
def _parameter_group(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname(lower=True)
    return name, {"name": name, "arn": request.context.arn("rds", f"pg:{name}")}


def _master_user_secrets(request: ResourceRequest, kind: str) -> list[dict[str, str]]:
    """The secret RDS makes for a master password it manages (``manageMasterUserPassword``):
    ``rds!cluster-<uuid>-<6 alnum>`` (``rds!db-`` for an instance), active, under the given key
    or aws/secretsmanager's; none otherwise."""
    if not request.inputs.get("manageMasterUserPassword"):
        return []
    suffix = request.text(6, _UPPER_ALNUM + _LOWER_ALNUM[:26], "master-secret")
    name = f"rds!{kind}-{request.uuid('master-secret')}-{suffix}"
    key = (request.inputs.get("masterUserSecretKmsKeyId")
           or request.context.arn("kms", f"key/{request.uuid('master-secret-key')}"))
    return [{"secretArn": request.context.arn("secretsmanager", f"secret:{name}"),
             "secretStatus": "active", "kmsKeyId": key}]


@resource_synth("aws:rds/cluster:Cluster")
def _rds_cluster(request: ResourceRequest) -> tuple[str, Computed]:
    identifier = request.autoname("clusterIdentifier", lower=True)
    dns_hash = request.text(12, _LOWER_ALNUM, "dns")
    engine_version = request.inputs.get("engineVersion") or ""
    return identifier, {
        "clusterIdentifier": identifier,
        "arn": request.context.arn("rds", f"cluster:{identifier}"),
        # DbClusterResourceId: what rds-db:connect ARNs name. 'cluster-' + 26 upper alnum.
        "clusterResourceId": request.upper_id("cluster-", 26),
        "endpoint": _rds_host(request, identifier, f"cluster-{dns_hash}"),
        "readerEndpoint": _rds_host(request, identifier, f"cluster-ro-{dns_hash}"),
        "port": _engine_port(request.inputs),
        "hostedZoneId": request.upper_id("Z", 13),
        "engineVersionActual": engine_version,
        "availabilityZones": request.inputs.get("availabilityZones") or request.context.zones(3),
        "clusterMembers": [],
        "masterUserSecrets": _master_user_secrets(request, "cluster"),
        "iamDatabaseAuthenticationEnabled":
            request.inputs.get("iamDatabaseAuthenticationEnabled", False),
        "storageEncrypted": request.inputs.get("storageEncrypted", False),
        "kmsKeyId": (request.context.arn("kms", f"key/{request.uuid('kms')}")
                     if request.inputs.get("storageEncrypted") else ""),
    }


@resource_synth("aws:rds/clusterInstance:ClusterInstance")
def _rds_cluster_instance(request: ResourceRequest) -> tuple[str, Computed]:
    identifier = request.autoname("identifier", lower=True)
    return identifier, {
        "identifier": identifier,
        "arn": request.context.arn("rds", f"db:{identifier}"),
        "dbiResourceId": request.upper_id("db-", 26),
        "endpoint": _rds_host(request, identifier, request.text(12, _LOWER_ALNUM, "dns")),
        "port": _engine_port(request.inputs),
        "writer": True,
        "availabilityZone": request.inputs.get("availabilityZone") or request.context.zones(1)[0],
        "caCertIdentifier": request.inputs.get("caCertIdentifier") or "rds-ca-rsa2048-g1",
        "engineVersionActual": request.inputs.get("engineVersion") or "",
        "publiclyAccessible": request.inputs.get("publiclyAccessible", False),
        "storageEncrypted": True,
    }


@resource_synth("aws:rds/instance:Instance")
def _rds_instance(request: ResourceRequest) -> tuple[str, Computed]:
    identifier = request.autoname("identifier", lower=True)
    address = _rds_host(request, identifier, request.text(12, _LOWER_ALNUM, "dns"))
    port = _engine_port(request.inputs)
    return identifier, {
        "identifier": identifier,
        "arn": request.context.arn("rds", f"db:{identifier}"),
        "resourceId": request.upper_id("db-", 26),
        "masterUserSecrets": _master_user_secrets(request, "db"),
        "address": address,
        "endpoint": f"{address}:{port}",
        "port": port,
        "hostedZoneId": request.upper_id("Z", 13),
        "engineVersionActual": request.inputs.get("engineVersion") or "",
        "iamDatabaseAuthenticationEnabled":
            request.inputs.get("iamDatabaseAuthenticationEnabled", False),
        "publiclyAccessible": request.inputs.get("publiclyAccessible", False),
        "storageEncrypted": request.inputs.get("storageEncrypted", False),
    }


@resource_synth("aws:rds/proxy:Proxy")
def _rds_proxy(request: ResourceRequest) -> tuple[str, Computed]:
    """An RDS Proxy: its ARN ends with the proxy's resource id (``prx-`` + 17 hex), which is what
    rds-db:connect ARNs of clients connecting through it name."""
    name = request.autoname(lower=True)
    resource_id = request.hex_id("prx")
    return name, {
        "name": name,
        "arn": request.context.arn("rds", f"db-proxy:{resource_id}"),
        "endpoint": _rds_host(request, name, f"proxy-{request.text(12, _LOWER_ALNUM, 'dns')}"),
    }


# ------------------------------------------------------------------------------------------
# AWS: IAM
# ------------------------------------------------------------------------------------------

def _iam_path(inputs: Mapping[str, Any]) -> str:
    return inputs.get("path") or "/"


def _iam_arn(request: ResourceRequest, kind: str, name: str) -> str:
    return request.context.arn("iam", f"{kind}{_iam_path(request.inputs)}{name}", regional=False)


@resource_synth("aws:iam/role:Role")
def _iam_role(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    return name, {
        "name": name,
        "arn": _iam_arn(request, "role", name),
        "uniqueId": request.upper_id("AROA", 17),
        "path": _iam_path(request.inputs),
        "createDate": EPOCH.isoformat().replace("+00:00", "Z"),
        "maxSessionDuration": request.inputs.get("maxSessionDuration") or 3600,
    }


@resource_synth("aws:iam/user:User")
def _iam_user(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    return name, {"name": name, "arn": _iam_arn(request, "user", name),
                  "uniqueId": request.upper_id("AIDA", 17), "path": _iam_path(request.inputs)}


@resource_synth("aws:iam/group:Group")
def _iam_group(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    return name, {"name": name, "arn": _iam_arn(request, "group", name),
                  "uniqueId": request.upper_id("AGPA", 17), "path": _iam_path(request.inputs)}


@resource_synth("aws:iam/instanceProfile:InstanceProfile")
def _iam_instance_profile(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    return name, {"name": name, "arn": _iam_arn(request, "instance-profile", name),
                  "uniqueId": request.upper_id("AIPA", 17)}


@resource_synth("aws:iam/policy:Policy")
def _iam_policy(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    arn = _iam_arn(request, "policy", name)
    return arn, {"name": name, "arn": arn, "policyId": request.upper_id("ANPA", 17),
                 "attachmentCount": 0, "path": _iam_path(request.inputs)}


@resource_synth("aws:iam/rolePolicy:RolePolicy", "aws:iam/userPolicy:UserPolicy",
                "aws:iam/groupPolicy:GroupPolicy")
def _iam_inline_policy(request: ResourceRequest) -> tuple[str, Computed]:
    owner_key = {"aws:iam/rolePolicy:RolePolicy": "role", "aws:iam/userPolicy:UserPolicy": "user",
                 "aws:iam/groupPolicy:GroupPolicy": "group"}[request.type]
    name = request.autoname()
    return f"{request.inputs.get(owner_key, '')}:{name}", {"name": name}


@resource_synth("aws:iam/rolePolicyAttachment:RolePolicyAttachment",
                "aws:iam/userPolicyAttachment:UserPolicyAttachment",
                "aws:iam/groupPolicyAttachment:GroupPolicyAttachment")
def _iam_policy_attachment(request: ResourceRequest) -> tuple[str, Computed]:
    owner = next((request.inputs[key] for key in ("role", "user", "group") if key in request.inputs),
                 request.name)
    return f"{owner}-{EPOCH:%Y%m%d%H%M%S}{request.text(8, _DIGITS, 'id')}", {}


@resource_synth("aws:iam/openIdConnectProvider:OpenIdConnectProvider")
def _iam_oidc_provider(request: ResourceRequest) -> tuple[str, Computed]:
    url = str(request.inputs.get("url") or f"https://oidc.example/{request.name}")
    issuer = url.split("://", 1)[-1].rstrip("/")
    arn = request.context.arn("iam", f"oidc-provider/{issuer}", regional=False)
    return arn, {"arn": arn, "clientIdLists": request.inputs.get("clientIdLists") or []}


@resource_synth("aws:iam/accessKey:AccessKey")
def _iam_access_key(request: ResourceRequest) -> tuple[str, Computed]:
    key_id = request.upper_id("AKIA", 16)
    return key_id, {"secret": request.text(40, _UPPER_ALNUM + _LOWER_ALNUM + "+/", "secret"),
                    "status": request.inputs.get("status") or "Active",
                    "createDate": EPOCH.isoformat().replace("+00:00", "Z")}


# ------------------------------------------------------------------------------------------
# AWS: a few common others
# ------------------------------------------------------------------------------------------

@resource_synth("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")
def _s3_bucket(request: ResourceRequest) -> tuple[str, Computed]:
    bucket = request.autoname("bucket", lower=True)
    return bucket, {
        "bucket": bucket,
        "arn": f"arn:{request.context.partition}:s3:::{bucket}",
        "bucketDomainName": f"{bucket}.s3.{request.context.dns_suffix}",
        "bucketRegionalDomainName":
            f"{bucket}.s3.{request.context.region}.{request.context.dns_suffix}",
        "region": request.context.region,
        "hostedZoneId": request.upper_id("Z", 13),
    }


@resource_synth("aws:kms/key:Key")
def _kms_key(request: ResourceRequest) -> tuple[str, Computed]:
    key_id = request.uuid("key")
    return key_id, {"keyId": key_id, "arn": request.context.arn("kms", f"key/{key_id}")}


@resource_synth("aws:secretsmanager/secret:Secret")
def _secret(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    arn = request.context.arn("secretsmanager",
                              f"secret:{name}-{request.text(6, _UPPER_ALNUM + _LOWER_ALNUM)}")
    return arn, {"name": name, "arn": arn}


@resource_synth("aws:eks/cluster:Cluster")
def _aws_eks_cluster(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    return name, _eks_cluster_attributes(request, name)


def _eks_issuer(request: ResourceRequest) -> str:
    """The cluster's OIDC issuer host/path (without scheme), as EKS names it."""
    return (f"oidc.eks.{request.context.region}.{request.context.dns_suffix}/id/"
            f"{request.text(32, '0123456789ABCDEF', 'oidc')}")


def _eks_cluster_attributes(request: ResourceRequest, name: str) -> Computed:
    endpoint = (f"https://{request.text(32, '0123456789ABCDEF', 'endpoint')}."
                f"{request.text(3, _LOWER_ALNUM, 'cell')}.{request.context.region}.eks."
                f"{request.context.dns_suffix}")
    ca_data = base64.b64encode(
        f"-----BEGIN CERTIFICATE-----\n{request.text(64, _UPPER_ALNUM, 'ca')}\n"
        f"-----END CERTIFICATE-----\n".encode()).decode()
    return {
        "name": name,
        "arn": request.context.arn("eks", f"cluster/{name}"),
        "endpoint": endpoint,
        "version": request.inputs.get("version") or "1.31",
        "platformVersion": "eks.1",
        "status": "ACTIVE",
        "certificateAuthority": {"data": ca_data},
        "identities": [{"oidcs": [{"issuer": f"https://{_eks_issuer(request)}"}]}],
        "vpcConfig": {**dict(request.inputs.get("vpcConfig") or {}),
                      "clusterSecurityGroupId": f"sg-{request.text(17, _HEX, 'cluster-sg')}"},
    }


@resource_synth("eks:index:Cluster")
def _pulumi_eks_cluster(request: ResourceRequest) -> tuple[str, Computed]:
    """pulumi-eks's remote component: only its outputs exist under mocks (see eks/cluster.ts:
    ``oidcProviderUrl`` is the issuer URL with ``https://``, ``oidcIssuer`` without it).
    ``eksCluster`` and ``core`` (its ``cluster``, ``oidcProvider``, endpoint, network) are given,
    their resources as :class:`ChildResource` references; other resource references (roles,
    security groups, the Kubernetes provider) are left out."""
    name = request.autoname("name")
    cluster = _eks_cluster_attributes(request, name)
    issuer = _eks_issuer(request)
    kubeconfig = eks_kubeconfig(name, cluster["endpoint"], cluster["certificateAuthority"]["data"],
                                request.context.region)
    with_oidc = bool(request.inputs.get("createOidcProvider"))
    provider_arn = request.context.arn("iam", f"oidc-provider/{issuer}", regional=False) if with_oidc else ""
    eks_cluster = ChildResource("aws:eks/cluster:Cluster", f"{request.name}-eksCluster", name, cluster)
    oidc_provider = ChildResource(
        "aws:iam/openIdConnectProvider:OpenIdConnectProvider", f"{request.name}-oidcProvider", provider_arn,
        {"arn": provider_arn, "url": f"https://{issuer}", "clientIdLists": ["sts.amazonaws.com"],
         "thumbprintLists": [request.text(40, _HEX, "thumbprint")], "tags": {}, "tagsAll": {}},
    ) if with_oidc else None
    core = {"cluster": eks_cluster, "endpoint": cluster["endpoint"], "kubeconfig": kubeconfig,
            "subnetIds": list(request.inputs.get("subnetIds") or []),
            "vpcId": request.inputs.get("vpcId") or "",
            "clusterSecurityGroupId": cluster["vpcConfig"]["clusterSecurityGroupId"],
            **({"oidcProvider": oidc_provider} if oidc_provider is not None else {})}
    return "", {
        "eksCluster": eks_cluster,
        "core": core,
        "kubeconfig": kubeconfig,
        "kubeconfigJson": json.dumps(kubeconfig),
        "oidcProviderArn": provider_arn,
        "oidcProviderUrl": f"https://{issuer}",
        "oidcIssuer": issuer,
        "clusterSecurityGroupId": cluster["vpcConfig"]["clusterSecurityGroupId"],
        "nodeSecurityGroupId": f"sg-{request.text(17, _HEX, 'node-sg')}",
        "clusterIngressRuleId": f"sgrule-{request.text(10, _DIGITS, 'ingress')}",
        "defaultNodeGroupAsgName": ("" if request.inputs.get("skipDefaultNodeGroup")
                                    else f"{name}-{request.text(7, _HEX, 'asg')}"),
        "fargateProfileId": "",
        "fargateProfileStatus": "",
        "autoModeNodeRoleName": "",
    }


def eks_kubeconfig(name: str, endpoint: str, ca_data: str, region: str) -> dict[str, Any]:
    """What pulumi-eks's generateKubeconfig returns: exec auth with ``aws eks get-token``.
    Also the local e2e engine's kubeconfig for the clusters it creates."""
    return {
        "apiVersion": "v1",
        "clusters": [{"cluster": {"server": endpoint, "certificate-authority-data": ca_data},
                      "name": "kubernetes"}],
        "contexts": [{"context": {"cluster": "kubernetes", "user": "aws"}, "name": "aws"}],
        "current-context": "aws",
        "kind": "Config",
        "users": [{"name": "aws", "user": {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "command": "aws",
            "args": ["--region", region, "eks", "get-token", "--cluster-name", name,
                     "--output", "json"],
            "env": [{"name": "KUBERNETES_EXEC_INFO",
                     "value": '{"apiVersion": "client.authentication.k8s.io/v1beta1"}'}],
        }}}],
    }


# ------------------------------------------------------------------------------------------
# Kubernetes
# ------------------------------------------------------------------------------------------

CLUSTER_SCOPED_KINDS = frozenset({
    "Namespace", "Node", "PersistentVolume", "ClusterRole", "ClusterRoleBinding", "StorageClass",
    "CustomResourceDefinition", "PriorityClass", "IngressClass", "RuntimeClass",
    "MutatingWebhookConfiguration", "ValidatingWebhookConfiguration", "APIService",
    "CSIDriver", "CSINode", "VolumeAttachment",
})


def _kubernetes_object(request: ResourceRequest) -> tuple[str, Computed]:
    """Any Kubernetes object: metadata completed as the API server does, status by kind."""
    if request.type.startswith("kubernetes:yaml") or request.type.startswith("kubernetes:helm") \
            or not request.custom:
        return "", {}
    kind = request.inputs.get("kind") or request.type.rsplit(":", 1)[-1]
    metadata = dict(request.inputs.get("metadata") or {})
    metadata.setdefault("name", f"{request.name}-{request.text(8, _LOWER_ALNUM, 'k8s-name')}")
    namespaced = kind not in CLUSTER_SCOPED_KINDS
    if namespaced:
        metadata.setdefault("namespace", "default")
    metadata.update({
        "uid": request.uuid("uid"),
        "resourceVersion": request.text(6, _DIGITS, "rv").lstrip("0") or "1",
        "creationTimestamp": EPOCH.isoformat().replace("+00:00", "Z"),
        "generation": 1,
    })
    resource_id = f"{metadata['namespace']}/{metadata['name']}" if namespaced else metadata["name"]
    computed: Computed = {"metadata": metadata}
    status = _KUBERNETES_STATUS.get(kind)
    if status is not None:
        computed.update(status(request))
    return resource_id, computed


def _service_status(request: ResourceRequest) -> Computed:
    spec = dict(request.inputs.get("spec") or {})
    service_type = spec.get("type") or "ClusterIP"
    cluster_ip = f"172.20.{int(request.text(3, _DIGITS, 'c1')) % 256}." \
                 f"{int(request.text(3, _DIGITS, 'c2')) % 254 + 1}"
    spec.setdefault("clusterIP", cluster_ip)
    spec.setdefault("clusterIPs", [spec["clusterIP"]])
    spec.setdefault("type", service_type)
    if service_type in ("NodePort", "LoadBalancer"):
        spec["ports"] = [{**dict(port), "nodePort": dict(port).get("nodePort") or
                          30000 + int(request.text(4, _DIGITS, f"np{index}")) % 2768}
                         for index, port in enumerate(spec.get("ports") or [])]
    status: Computed = {"loadBalancer": {}}
    if service_type == "LoadBalancer":
        hostname = (f"{request.text(32, _HEX, 'elb')}-{request.text(10, _DIGITS, 'elb-n')}."
                    f"{request.context.region}.elb.{request.context.dns_suffix}")
        status = {"loadBalancer": {"ingress": [{"hostname": hostname}]}}
    return {"spec": spec, "status": status}


def _deployment_status(request: ResourceRequest) -> Computed:
    spec = dict(request.inputs.get("spec") or {})
    replicas = spec.get("replicas", 1)
    return {"status": {
        "observedGeneration": 1, "replicas": replicas, "readyReplicas": replicas,
        "availableReplicas": replicas, "updatedReplicas": replicas,
        "conditions": [{"type": "Available", "status": "True"},
                       {"type": "Progressing", "status": "True",
                        "reason": "NewReplicaSetAvailable"}],
    }}


def _namespace_status(request: ResourceRequest) -> Computed:
    return {"status": {"phase": "Active"}}


def _pod_status(request: ResourceRequest) -> Computed:
    return {"status": {"phase": "Running",
                       "podIP": f"10.0.{int(request.text(2, _DIGITS, 'p1'))}."
                                f"{int(request.text(2, _DIGITS, 'p2')) + 2}"}}


_KUBERNETES_STATUS: dict[str, Callable[[ResourceRequest], Computed]] = {
    "Service": _service_status,
    "Deployment": _deployment_status,
    "StatefulSet": _deployment_status,
    "Namespace": _namespace_status,
    "Pod": _pod_status,
}


# ------------------------------------------------------------------------------------------
# PostgreSQL (pulumi-postgresql): ids as the provider forms them
# ------------------------------------------------------------------------------------------

@resource_synth("postgresql:index/role:Role", "postgresql:index/database:Database")
def _pg_named(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    return name, {"name": name}


@resource_synth("postgresql:index/schema:Schema", "postgresql:index/extension:Extension")
def _pg_in_database(request: ResourceRequest) -> tuple[str, Computed]:
    name = request.autoname()
    return f"{request.inputs.get('database') or 'postgres'}.{name}", {"name": name}


@resource_synth("postgresql:index/grantRole:GrantRole")
def _pg_grant_role(request: ResourceRequest) -> tuple[str, Computed]:
    return f"{request.inputs.get('role')}_{request.inputs.get('grantRole')}", {
        "withAdminOption": request.inputs.get("withAdminOption", False)}


@resource_synth("postgresql:index/grant:Grant")
def _pg_grant(request: ResourceRequest) -> tuple[str, Computed]:
    parts = [request.inputs.get(key) for key in ("role", "database", "schema", "objectType")]
    return "_".join(str(part) for part in parts if part), {
        "withGrantOption": request.inputs.get("withGrantOption", False)}


@resource_synth("postgresql:index/defaultPrivileges:DefaultPrivileges")
def _pg_default_privileges(request: ResourceRequest) -> tuple[str, Computed]:
    parts = [request.inputs.get(key) for key in ("role", "database", "schema", "owner",
                                                 "objectType")]
    return "_".join(str(part) for part in parts if part), {
        "withGrantOption": request.inputs.get("withGrantOption", False)}


# ------------------------------------------------------------------------------------------
# random and tls
# ------------------------------------------------------------------------------------------

_PASSWORD_SPECIALS = "!@#$%&*()-_=+[]{}<>:?"


@resource_synth("random:index/randomPassword:RandomPassword",
                "random:index/randomString:RandomString")
def _random_string(request: ResourceRequest) -> tuple[str, Computed]:
    length = int(request.inputs.get("length") or 16)
    alphabet = ""
    if request.inputs.get("upper", True):
        alphabet += "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    if request.inputs.get("lower", True):
        alphabet += "abcdefghijklmnopqrstuvwxyz"
    if request.inputs.get("numeric", True):
        alphabet += _DIGITS
    if request.inputs.get("special", True):
        alphabet += request.inputs.get("overrideSpecial") or _PASSWORD_SPECIALS
    result = request.text(length, alphabet or _LOWER_ALNUM, "result")
    computed: Computed = {"result": result}
    if request.type.endswith("RandomPassword"):
        computed["bcryptHash"] = "$2a$10$" + request.text(53, _UPPER_ALNUM + _LOWER_ALNUM + "./",
                                                         "bcrypt")
        return "none", computed
    return result, computed


@resource_synth("random:index/randomId:RandomId")
def _random_id(request: ResourceRequest) -> tuple[str, Computed]:
    size = int(request.inputs.get("byteLength") or 8)
    raw = hashlib.shake_256(f"{request.context.seed}|{request.name}|id".encode()).digest(size)
    prefix = request.inputs.get("prefix") or ""
    b64_url = base64.urlsafe_b64encode(raw).decode().rstrip("=")
    return b64_url, {"hex": prefix + raw.hex(), "b64Url": prefix + b64_url,
                     "b64Std": prefix + base64.b64encode(raw).decode(),
                     "dec": prefix + str(int.from_bytes(raw, "big"))}


@resource_synth("random:index/randomUuid:RandomUuid")
def _random_uuid(request: ResourceRequest) -> tuple[str, Computed]:
    value = request.uuid("result")
    return value, {"result": value}


@resource_synth("random:index/randomInteger:RandomInteger")
def _random_integer(request: ResourceRequest) -> tuple[str, Computed]:
    low, high = int(request.inputs.get("min", 0)), int(request.inputs.get("max", 100))
    value = low + int(request.text(9, _DIGITS, "int")) % (high - low + 1)
    return str(value), {"result": value}


@resource_synth("random:index/randomPet:RandomPet")
def _random_pet(request: ResourceRequest) -> tuple[str, Computed]:
    words = ["brave", "calm", "eager", "fond", "keen", "lucid", "merry", "noble"]
    animals = ["otter", "heron", "lynx", "puffin", "marten", "ibex", "wren", "koala"]
    count = int(request.inputs.get("length") or 2)
    picks = [words[int(request.text(2, _DIGITS, f"w{i}")) % len(words)] for i in range(count - 1)]
    picks.append(animals[int(request.text(2, _DIGITS, "animal")) % len(animals)])
    pet = (request.inputs.get("separator") or "-").join(picks)
    if request.inputs.get("prefix"):
        pet = f"{request.inputs['prefix']}{request.inputs.get('separator') or '-'}{pet}"
    return pet, {}


@resource_synth("tls:index/privateKey:PrivateKey")
def _tls_private_key(request: ResourceRequest) -> tuple[str, Computed]:
    """A real key (cryptography): code that parses it must succeed, as after ``pulumi up``."""
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

    algorithm = request.inputs.get("algorithm") or "RSA"
    if algorithm == "RSA":
        key = rsa.generate_private_key(65537, int(request.inputs.get("rsaBits") or 2048))
    elif algorithm == "ECDSA":
        curves = {"P224": ec.SECP224R1, "P256": ec.SECP256R1, "P384": ec.SECP384R1,
                  "P521": ec.SECP521R1}
        key = ec.generate_private_key(curves[request.inputs.get("ecdsaCurve") or "P224"]())
    else:
        key = ed25519.Ed25519PrivateKey.generate()
    public = key.public_key()
    pkcs8 = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode()
    openssh_public = public.public_bytes(serialization.Encoding.OpenSSH,
                                         serialization.PublicFormat.OpenSSH).decode()
    der = public.public_bytes(serialization.Encoding.DER,
                              serialization.PublicFormat.SubjectPublicKeyInfo)
    digest = hashes.Hash(hashes.SHA1())
    digest.update(der)
    return digest.finalize().hex(), {
        "privateKeyPem": pkcs8,
        "privateKeyPemPkcs8": pkcs8,
        "publicKeyPem": public.public_bytes(serialization.Encoding.PEM,
                                            serialization.PublicFormat.SubjectPublicKeyInfo
                                            ).decode(),
        "publicKeyOpenssh": openssh_public + "\n",
        "publicKeyFingerprintSha256": "SHA256:" + base64.b64encode(
            hashlib.sha256(base64.b64decode(openssh_public.split()[1])).digest()
        ).decode().rstrip("="),
    }


# ------------------------------------------------------------------------------------------
# Data sources
# ------------------------------------------------------------------------------------------

@call_synth("aws:index/getCallerIdentity:getCallerIdentity")
def _caller_identity(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "accountId": context.account_id,
        "arn": context.arn("iam", "user/pulumi-deployer", regional=False),
        "userId": "AIDA" + deterministic_text(f"{context.seed}|caller", 17, _UPPER_ALNUM),
        "id": context.account_id,
    }


@call_synth("aws:index/getRegion:getRegion")
def _region(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    region = args.get("region") or args.get("name") or context.region
    return {
        "region": region,
        "name": region,  # deprecated in pulumi-aws v7, still answered
        "id": region,
        "endpoint": f"ec2.{region}.{context.dns_suffix}",
        "description": region,
    }


@call_synth("aws:index/getPartition:getPartition")
def _partition(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "partition": context.partition,
        "dnsSuffix": context.dns_suffix,
        "reverseDnsPrefix": ".".join(reversed(context.dns_suffix.split("."))),
        "id": context.partition,
    }


@call_synth("aws:index/getAvailabilityZones:getAvailabilityZones")
def _availability_zones(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    excluded = set(args.get("excludeNames") or [])
    names = [zone for zone in context.zones(3) if zone not in excluded]
    prefix = _zone_id_prefix(context.region)
    return {
        "names": names,
        "zoneIds": [f"{prefix}-az{_zone_index(zone)}" for zone in names],
        "groupNames": [context.region] * len(names),
        "state": args.get("state") or "available",
        "id": context.region,
    }


@call_synth("aws:iam/getPolicyDocument:getPolicyDocument")
def _policy_document(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    return render_policy_document(args)


@call_synth("kubernetes:yaml:decode")
def _kubernetes_yaml_decode(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """What the Kubernetes provider's ``yaml:decode`` answers ``yaml.ConfigFile`` and
    ``ConfigGroup`` (v1, which create their objects in the program): the manifest's documents
    as objects, empty documents left out. The provider decodes YAML 1.1 (go-yaml v2), as PyYAML
    does."""
    import yaml

    return {"result": [document for document in yaml.safe_load_all(str(args.get("text") or ""))
                       if document is not None]}


# ------------------------------------------------------------------------------------------
# Data sources that look up what another stack created (the answers are the synthesized
# attributes of a resource of that type with the looked-up name: deterministic, realistic)
# ------------------------------------------------------------------------------------------

def _lookup(context: CloudContext, type_: str, name: str, inputs: Mapping[str, Any]) -> dict:
    resource_id, state = synthesize_resource(context, type_, name, inputs)
    return {**state, "id": resource_id}


@call_synth("aws:eks/getCluster:getCluster")
def _eks_cluster_lookup(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    name = str(args.get("name") or "cluster")
    return _lookup(context, "aws:eks/cluster:Cluster", name, {"name": name})


@call_synth("aws:rds/getCluster:getCluster")
def _rds_cluster_lookup(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    identifier = str(args.get("clusterIdentifier") or "cluster")
    return _lookup(context, "aws:rds/cluster:Cluster", identifier,
                   {"clusterIdentifier": identifier, "engine": "aurora-postgresql",
                    "iamDatabaseAuthenticationEnabled": True, "storageEncrypted": True})


@call_synth("aws:rds/getInstance:getInstance")
def _rds_instance_lookup(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    identifier = str(args.get("dbInstanceIdentifier") or "instance")
    found = _lookup(context, "aws:rds/instance:Instance", identifier,
                    {"identifier": identifier, "engine": "postgres",
                     "iamDatabaseAuthenticationEnabled": True, "storageEncrypted": True})
    return {**found, "dbInstanceIdentifier": identifier, "dbiResourceId": found["resourceId"]}


@call_synth("aws:iam/getOpenIdConnectProvider:getOpenIdConnectProvider")
def _oidc_provider_lookup(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """By ``arn`` or ``url``; the ``url`` IAM returns has no scheme."""
    arn = args.get("arn")
    if arn:
        issuer = str(arn).split("oidc-provider/", 1)[-1]
    else:
        issuer = str(args.get("url") or "oidc.example/provider").split("://", 1)[-1].rstrip("/")
        arn = context.arn("iam", f"oidc-provider/{issuer}", regional=False)
    return {"arn": arn, "url": issuer, "clientIdLists": ["sts.amazonaws.com"],
            "thumbprintLists": [], "tags": {}, "id": arn}


@call_synth("aws:iam/getRole:getRole")
def _role_lookup(context: CloudContext, args: Mapping[str, Any]) -> dict[str, Any]:
    """An existing role: its names and ARN; its trust is not known here, so it is an empty
    document rather than a made-up one."""
    name = str(args.get("name") or "role")
    found = _lookup(context, "aws:iam/role:Role", name, {"name": name})
    return {**found, "assumeRolePolicy": json.dumps({"Version": "2012-10-17", "Statement": []})}
