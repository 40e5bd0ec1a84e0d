"""Pure builders of the two IAM documents that make passwordless PostgreSQL work.

* the IRSA **trust policy** of the role a pod's service account assumes: only
  ``sts:AssumeRoleWithWebIdentity``, only from the cluster's IAM OIDC provider, only for
  ``system:serviceaccount:<namespace>:<service account>`` with the ``sts.amazonaws.com`` audience;
* the **connect policy**: only ``rds-db:connect`` on exactly
  ``arn:<partition>:rds-db:<region>:<account>:dbuser:<DbClusterResourceId>/<db user>``.

Plain data in, JSON out; no Pulumi import, so the builders are tested (and property-tested) on
their own and reused by anything that needs the same documents. Every argument is validated and a
:class:`PolicyInputError` (a ``ValueError``) names the argument and says what is wrong with it:
each rule below stands for a mistake people make (see the field notes), and a document that
AWS would accept but that cannot work, or that allows more than it says, is never produced.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

POLICY_VERSION = "2012-10-17"
ASSUME_ROLE_WITH_WEB_IDENTITY = "sts:AssumeRoleWithWebIdentity"
RDS_CONNECT = "rds-db:connect"
STS_AUDIENCE = "sts.amazonaws.com"

# Partition -> the regular expression of its region names. Mirrors the ``regionRegex`` of
# botocore's endpoints.json (a unit test checks that every region botocore knows lands in the same
# partition here); copied rather than imported because the Pulumi program must not depend on
# botocore.
PARTITION_REGIONS: dict[str, re.Pattern[str]] = {
    "aws": re.compile(r"^(us|eu|ap|sa|ca|me|af|il|mx)-[a-z]+-\d+$"),
    "aws-cn": re.compile(r"^cn-[a-z]+-\d+$"),
    "aws-us-gov": re.compile(r"^us-gov-[a-z]+-\d+$"),
    "aws-iso": re.compile(r"^us-iso-[a-z]+-\d+$"),
    "aws-iso-b": re.compile(r"^us-isob-[a-z]+-\d+$"),
    "aws-iso-e": re.compile(r"^eu-isoe-[a-z]+-\d+$"),
    "aws-iso-f": re.compile(r"^us-isof-[a-z]+-\d+$"),
    "aws-eusc": re.compile(r"^eusc-de-[a-z]+-\d+$"),
}

_WILDCARDS = ("*", "?")
# Kubernetes object names (k8s.io/apimachinery validation): a namespace is an RFC 1123 label,
# a service account name an RFC 1123 subdomain.
_DNS1123_LABEL = r"[a-z0-9](?:[-a-z0-9]*[a-z0-9])?"
_NAMESPACE = re.compile(rf"^{_DNS1123_LABEL}$")
_SUBDOMAIN = re.compile(rf"^{_DNS1123_LABEL}(?:\.{_DNS1123_LABEL})*$")
# The issuer as IAM keys its conditions: host (a DNS name or an IPv4 address, optional port) and
# an optional path of URL-unreserved segments, without a scheme and without a trailing slash.
_HOST_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_ISSUER = re.compile(
    rf"^(?P<host>{_HOST_LABEL}(?:\.{_HOST_LABEL})*)(?::(?P<port>[0-9]{{1,5}}))?"
    r"(?P<path>(?:/[A-Za-z0-9._~-]+)*)$"
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_ACCOUNT = re.compile(r"^[0-9]{12}$")
# A PostgreSQL role name as created without quoting rules surprising anyone: the same rule the
# demo app applies to DB_USER, so the user in the ARN, the database role and the pod agree.
_DB_USER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]{0,62}$")
# DbClusterResourceId / DbiResourceId: the prefix and upper-case letters and digits. A cluster
# *identifier* is lower case, so "cluster-mydb" is refused even though it starts with "cluster-".
_RESOURCE_ID = re.compile(r"^(?:cluster|db)-[A-Z0-9]+$")


class PolicyInputError(ValueError):
    """An argument of a builder is invalid; ``argument`` names it, ``reason`` says why."""

    def __init__(self, argument: str, reason: str, value: object) -> None:
        super().__init__(f"{argument}: {reason} (got {value!r})")
        self.argument = argument
        self.reason = reason
        self.value = value


@dataclass(frozen=True)
class OidcProvider:
    """An IAM OIDC provider ARN taken apart."""

    arn: str
    partition: str
    account_id: str
    issuer: str  # host/path, the suffix of the ARN and the prefix of the condition keys


def _require_text(argument: str, value: object) -> str:
    if not isinstance(value, str):
        raise PolicyInputError(argument, "must be a string", value)
    if not value:
        raise PolicyInputError(argument, "must not be empty", value)
    for wildcard in _WILDCARDS:
        if wildcard in value:
            raise PolicyInputError(
                argument, f"must not contain the IAM wildcard {wildcard!r}: the document would "
                          "match more than the one name it is meant for", value)
    if any(ch.isspace() for ch in value):
        raise PolicyInputError(argument, "must not contain white space", value)
    return value


def validate_namespace(namespace: str, argument: str = "namespace") -> str:
    """A Kubernetes namespace name: an RFC 1123 label of at most 63 characters."""
    _require_text(argument, namespace)
    if len(namespace) > 63 or not _NAMESPACE.match(namespace):
        raise PolicyInputError(
            argument, "is not a valid Kubernetes namespace name (an RFC 1123 label: at most 63 "
                      "lower-case letters, digits and '-', starting and ending with a letter or "
                      "digit)", namespace)
    return namespace


def validate_service_account_name(name: str, argument: str = "service_account_name") -> str:
    """A Kubernetes service account name: an RFC 1123 subdomain of at most 253 characters."""
    _require_text(argument, name)
    if len(name) > 253 or not _SUBDOMAIN.match(name):
        raise PolicyInputError(
            argument, "is not a valid Kubernetes service account name (an RFC 1123 subdomain: at "
                      "most 253 lower-case letters, digits, '-' and '.')", name)
    return name


def validate_issuer(issuer: str, argument: str = "oidc_provider_url") -> str:
    """The OIDC issuer as IAM condition keys carry it: ``host[:port][/path]``, no scheme."""
    _require_text(argument, issuer)
    if _SCHEME.match(issuer):
        raise PolicyInputError(
            argument, "must be the issuer without its scheme: IAM condition keys are "
                      "'<host/path>:sub', a key with 'https://' never matches", issuer)
    if issuer.endswith("/"):
        raise PolicyInputError(argument, "must not end with '/': the condition key would not "
                                         "match the issuer IAM knows", issuer)
    match = _ISSUER.match(issuer)
    if not match or len(match["host"]) > 253:
        raise PolicyInputError(argument, "is not an issuer host and path "
                                         "(e.g. 'oidc.eks.us-east-1.amazonaws.com/id/ABC')", issuer)
    if match["port"] is not None and not 1 <= int(match["port"]) <= 65535:
        raise PolicyInputError(argument, "has a port outside 1-65535", issuer)
    return issuer


def validate_partition(partition: str, argument: str = "partition") -> str:
    _require_text(argument, partition)
    if partition not in PARTITION_REGIONS:
        raise PolicyInputError(argument, f"is not an AWS partition (one of "
                                         f"{', '.join(sorted(PARTITION_REGIONS))})", partition)
    return partition


def validate_region(region: str, partition: str, argument: str = "region") -> str:
    _require_text(argument, region)
    if not PARTITION_REGIONS[partition].match(region):
        owner = next((name for name, pattern in PARTITION_REGIONS.items() if pattern.match(region)),
                     None)
        reason = (f"is a region of partition {owner!r}, not of {partition!r}" if owner
                  else "is not an AWS region name")
        raise PolicyInputError(argument, reason, region)
    return region


def validate_account_id(account_id: str, argument: str = "account_id") -> str:
    _require_text(argument, account_id)
    if not _ACCOUNT.match(account_id):
        raise PolicyInputError(argument, "must be a 12-digit AWS account id", account_id)
    return account_id


def validate_db_user(db_user: str, argument: str = "db_user") -> str:
    _require_text(argument, db_user)
    if not _DB_USER.match(db_user):
        raise PolicyInputError(
            argument, "is not a PostgreSQL role name usable in an rds-db ARN (a letter or '_', "
                      "then letters, digits, '_' or '$', at most 63 characters)", db_user)
    return db_user


def validate_resource_id(resource_id: str, argument: str = "resource_id") -> str:
    _require_text(argument, resource_id)
    if not _RESOURCE_ID.match(resource_id):
        raise PolicyInputError(
            argument, "must be the cluster's DbClusterResourceId ('cluster-' + upper-case "
                      "letters and digits) or an instance's DbiResourceId ('db-...'); a cluster "
                      "identifier or ARN in its place makes every token fail", resource_id)
    return resource_id


def _split_arn(arn: str, argument: str) -> tuple[str, str, str, str, str]:
    """An ARN's partition (a known one), service, region, account and resource."""
    _require_text(argument, arn)
    parts = arn.split(":", 5)
    if len(parts) != 6 or parts[0] != "arn":
        raise PolicyInputError(argument, "is not an ARN", arn)
    _, partition, service, region, account, resource = parts
    if partition not in PARTITION_REGIONS:
        raise PolicyInputError(argument, f"has an unknown partition {partition!r}", arn)
    return partition, service, region, account, resource


def parse_oidc_provider_arn(arn: str, argument: str = "oidc_provider_arn") -> OidcProvider:
    """``arn:<partition>:iam::<account>:oidc-provider/<issuer host/path>``, validated."""
    partition, service, region, account, resource = _split_arn(arn, argument)
    if service != "iam" or region or not resource.startswith("oidc-provider/"):
        raise PolicyInputError(
            argument, "is not an IAM OIDC provider ARN "
                      "('arn:<partition>:iam::<account>:oidc-provider/<issuer>')", arn)
    if not _ACCOUNT.match(account):
        raise PolicyInputError(argument, "has no 12-digit account id", arn)
    issuer = resource[len("oidc-provider/"):]
    try:
        validate_issuer(issuer, argument)
    except PolicyInputError as error:
        raise PolicyInputError(argument, f"names an invalid issuer: {error.reason}", arn) from None
    return OidcProvider(arn=arn, partition=partition, account_id=account, issuer=issuer)


def service_account_subject(namespace: str, service_account_name: str) -> str:
    """The ``sub`` claim of a projected service account token."""
    validate_namespace(namespace)
    validate_service_account_name(service_account_name)
    return f"system:serviceaccount:{namespace}:{service_account_name}"


def trust_policy(oidc_provider_arn: str, oidc_provider_url: str, namespace: str,
                 service_account_name: str) -> dict[str, Any]:
    """The IRSA trust policy as a document (one statement, exact ``sub`` and ``aud``)."""
    provider = parse_oidc_provider_arn(oidc_provider_arn)
    issuer = validate_issuer(oidc_provider_url)
    if issuer != provider.issuer:
        raise PolicyInputError(
            "oidc_provider_url", f"does not match the issuer of oidc_provider_arn "
                                 f"({provider.issuer!r}): condition keys naming another issuer "
                                 "never match, nobody could assume the role", issuer)
    subject = service_account_subject(namespace, service_account_name)
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": provider.arn},
            "Action": ASSUME_ROLE_WITH_WEB_IDENTITY,
            "Condition": {"StringEquals": {
                f"{issuer}:sub": subject,
                f"{issuer}:aud": STS_AUDIENCE,
            }},
        }],
    }


def dbuser_arn(partition: str, region: str, account_id: str, resource_id: str,
               db_user: str) -> str:
    """``arn:<partition>:rds-db:<region>:<account>:dbuser:<resource id>/<db user>``."""
    validate_partition(partition)
    validate_region(region, partition)
    validate_account_id(account_id)
    validate_resource_id(resource_id)
    validate_db_user(db_user)
    return f"arn:{partition}:rds-db:{region}:{account_id}:dbuser:{resource_id}/{db_user}"


def connect_policy(partition: str, region: str, account_id: str, resource_id: str,
                   db_user: str) -> dict[str, Any]:
    """The identity policy allowing ``rds-db:connect`` as one user of one cluster, nothing else."""
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Action": RDS_CONNECT,
            "Resource": dbuser_arn(partition, region, account_id, resource_id, db_user),
        }],
    }


def to_json(document: dict[str, Any]) -> str:
    """The document as IAM stores it: compact, keys in the order written."""
    return json.dumps(document, separators=(",", ":"))


def trust_policy_json(oidc_provider_arn: str, oidc_provider_url: str, namespace: str,
                      service_account_name: str) -> str:
    return to_json(trust_policy(oidc_provider_arn, oidc_provider_url, namespace,
                                service_account_name))


def connect_policy_json(partition: str, region: str, account_id: str, resource_id: str,
                        db_user: str) -> str:
    return to_json(connect_policy(partition, region, account_id, resource_id, db_user))


# ---------------------------------------------------------------------------------------------
# EKS Pod Identity: the role's trust names the EKS Auth service, which assumes the role for the
# association's pods and passes the pod's identity as session tags (docs/pod-identity.md).
# ---------------------------------------------------------------------------------------------

PODS_SERVICE_PRINCIPAL = "pods.eks.amazonaws.com"
POD_IDENTITY_ACTIONS = ("sts:AssumeRole", "sts:TagSession")
# The session tags EKS Pod Identity sets (EKS user guide, pod-id-abac): trust conditions on
# aws:RequestTag/<tag> scope the role to one cluster, namespace and service account.
POD_IDENTITY_SESSION_TAGS = ("eks-cluster-arn", "eks-cluster-name", "kubernetes-namespace",
                             "kubernetes-service-account", "kubernetes-pod-name",
                             "kubernetes-pod-uid")
# An EKS cluster name: 1-100 characters, a letter or digit first, then letters, digits, - and _.
_CLUSTER_NAME = re.compile(r"^[0-9A-Za-z][A-Za-z0-9\-_]{0,99}$")


@dataclass(frozen=True)
class EksClusterRef:
    """An EKS cluster ARN taken apart."""

    arn: str
    partition: str
    region: str
    account_id: str
    name: str


def validate_cluster_name(name: str, argument: str = "cluster_name") -> str:
    _require_text(argument, name)
    if not _CLUSTER_NAME.match(name):
        raise PolicyInputError(argument, "is not an EKS cluster name (1-100 letters, digits, "
                                         "'-' and '_', starting with a letter or digit)", name)
    return name


def parse_eks_cluster_arn(arn: str, argument: str = "cluster_arn") -> EksClusterRef:
    """``arn:<partition>:eks:<region>:<account>:cluster/<name>``, validated."""
    partition, service, region, account, resource = _split_arn(arn, argument)
    if service != "eks" or not resource.startswith("cluster/"):
        raise PolicyInputError(argument, "is not an EKS cluster ARN "
                                         "('arn:<partition>:eks:<region>:<account>:cluster/<name>')",
                               arn)
    try:
        validate_region(region, partition, argument)
        validate_account_id(account, argument)
        name = validate_cluster_name(resource[len("cluster/"):], argument)
    except PolicyInputError as error:
        raise PolicyInputError(argument, error.reason, arn) from None
    return EksClusterRef(arn=arn, partition=partition, region=region, account_id=account, name=name)


def pod_identity_trust_policy(cluster_arn: str, namespace: str,
                              service_account_name: str) -> dict[str, Any]:
    """The Pod Identity trust policy: only the EKS Auth service principal, only ``sts:AssumeRole``
    and ``sts:TagSession``, only for sessions EKS tags with this cluster, namespace and service
    account, only from this cluster's account (``aws:SourceAccount``)."""
    cluster = parse_eks_cluster_arn(cluster_arn)
    validate_namespace(namespace)
    validate_service_account_name(service_account_name)
    return {
        "Version": POLICY_VERSION,
        "Statement": [{
            "Effect": "Allow",
            "Principal": {"Service": PODS_SERVICE_PRINCIPAL},
            "Action": list(POD_IDENTITY_ACTIONS),
            "Condition": {"StringEquals": {
                "aws:SourceAccount": cluster.account_id,
                "aws:RequestTag/eks-cluster-arn": cluster.arn,
                "aws:RequestTag/kubernetes-namespace": namespace,
                "aws:RequestTag/kubernetes-service-account": service_account_name,
            }},
        }],
    }


def pod_identity_trust_policy_json(cluster_arn: str, namespace: str,
                                   service_account_name: str) -> str:
    return to_json(pod_identity_trust_policy(cluster_arn, namespace, service_account_name))
