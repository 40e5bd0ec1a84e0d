"""No rule fails on shapes it does not expect: properties of the wrong type (a number where a
list belongs, a string where an object does), documents with odd members, unknowns anywhere.
Under the pack a failing rule becomes a violation (``Rule.findings``); here each check is run
bare over every resource type with every odd value in every property it reads, so that a shape
that would make one fail is found and fixed in the rule."""

from __future__ import annotations

import json

import pytest

from iamdb_rules.catalog import RULES
from iamdb_rules.model import Resource
from iamdb_rules.props import UNKNOWN

ODD_POD_SPEC = {"containers": 7, "serviceAccountName": 3, "initContainers": [
    {"env": 7, "args": 7, "command": 5, "envFrom": 3},
    {"env": [{"name": 5, "value": 6}, {"name": "PGSSLMODE", "value": 8},
             {"name": "AWS_SECRET_ACCESS_KEY", "valueFrom": 9}, "PGHOST"]}]}
ODD_VALUES = {
    "none": None, "true": True, "number": 7, "float": 1.5, "empty-string": "", "star": "*",
    "unknown": UNKNOWN, "text": "disable", "empty-list": [], "list-of-mixed": [1, None, "x", {}],
    "unknown-list": [UNKNOWN], "empty-object": {}, "object-of-odd": {"name": 1, "value": [2],
                                                                    "env": "x", "spec": 3},
    "nested": {"template": {"spec": {"containers": {"env": 5}}}},
    "pod-spec-of-odd": {**ODD_POD_SPEC, "template": {"spec": ODD_POD_SPEC},
                        "annotations": 3, "namespace": 4, "name": ["x"]},
    "not-json": "{'Statement': }", "json-list": "[1, 2]",
    "document-of-odd": json.dumps({"Statement": [1, "x", None, {
        "Effect": 5, "Action": {"a": 1}, "Resource": [None], "Principal": {"Federated": 5},
        "Condition": {"StringEquals": "x", "StringLike": {"k": {"x": 1}}}}]}),
    "document-statement-object": json.dumps({"Statement": {
        "Effect": "Allow", "Action": "*", "Principal": {"AWS": ["*", 3]},
        "Condition": [{"StringEquals": {}}], "NotResource": 4}}),
}
# type -> the properties its rules read
TYPES = {
    "aws:iam/role:Role": ("assumeRolePolicy", "inlinePolicies", "managedPolicyArns", "name",
                          "arn"),
    "aws:iam/rolePolicy:RolePolicy": ("role", "policy"),
    "aws:iam/policyAttachment:PolicyAttachment": ("roles", "policyArn"),
    "aws:iam/rolePolicyAttachmentsExclusive:RolePolicyAttachmentsExclusive": ("roleName",
                                                                              "policyArns"),
    "aws:rds/cluster:Cluster": ("engine", "engineMode", "iamDatabaseAuthenticationEnabled",
                                "storageEncrypted", "publiclyAccessible",
                                "dbClusterInstanceClass", "dbClusterParameterGroupName",
                                "clusterResourceId", "masterUsername", "arn"),
    "aws:rds/instance:Instance": ("engine", "parameterGroupName", "resourceId", "username"),
    "aws:rds/proxy:Proxy": ("engineFamily", "auths", "defaultAuthScheme", "requireTls", "arn"),
    "aws:rds/clusterParameterGroup:ClusterParameterGroup": ("name", "parameters"),
    "postgresql:index/role:Role": ("name", "roles", "superuser", "createRole"),
    "postgresql:index/grantRole:GrantRole": ("role", "grantRole"),
    "kubernetes:apps/v1:Deployment": ("metadata", "spec"),
    "kubernetes:core/v1:Pod": ("metadata", "spec"),
    "kubernetes:core/v1:Secret": ("data", "stringData", "metadata"),
    "kubernetes:core/v1:ServiceAccount": ("metadata",),
    "kubernetes:helm.sh/v3:Release": ("values",),
    "aws:eks/podIdentityAssociation:PodIdentityAssociation": ("namespace", "serviceAccount",
                                                              "roleArn"),
}
IRSA_ROLE = Resource("aws:iam/role:Role", "urn:pulumi:dev::p::aws:iam/role:Role::irsa", "irsa", {
    "name": "irsa", "assumeRolePolicy": json.dumps({"Statement": [{
        "Effect": "Allow", "Action": "sts:AssumeRoleWithWebIdentity",
        "Principal": {"Federated": "arn:aws:iam::111122223333:oidc-provider/oidc.example/id/A"},
        "Condition": {"StringEquals": {"oidc.example/id/A:sub": "system:serviceaccount:a:b"}}}]})})


@pytest.mark.parametrize("odd", sorted(ODD_VALUES))
def test_rules_survive_odd_values_in_every_property_they_read(odd):
    value = ODD_VALUES[odd]
    resources = [Resource(type_, f"urn:pulumi:dev::p::{type_}::x", "x",
                          {key: value for key in keys}) for type_, keys in TYPES.items()]
    resources.append(IRSA_ROLE)
    for rule in RULES:
        ctx = rule.context(stack="dev")
        for subject in (resources if rule.kind == "resource" else [resources]):
            list(rule.check(subject, ctx))
