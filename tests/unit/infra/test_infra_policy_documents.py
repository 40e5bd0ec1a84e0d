"""The pure builders of the trust and connect policies: evaluated with the IAM engine, they
allow exactly the one subject and the one resource they are built for; every invalid input is
refused with an error naming the argument."""

from __future__ import annotations

import json
import string

import botocore.loaders
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from iampg.policy_documents import (
    PARTITION_REGIONS,
    PolicyInputError,
    connect_policy,
    connect_policy_json,
    dbuser_arn,
    parse_oidc_provider_arn,
    trust_policy,
    trust_policy_json,
)
from infra_checks import ConnectExpectation, TrustExpectation, check_connect_document, \
    check_trust_document
from pgiam.iam import Principal, Request, evaluate_identity_policies, evaluate_trust_policy, \
    parse_policy

PROPERTY = settings(max_examples=20, deadline=None)

PARTITIONS = botocore.loaders.Loader().load_data("endpoints")["partitions"]
KNOWN_REGIONS = sorted((p["partition"], region) for p in PARTITIONS for region in p["regions"])
DNS = {p["partition"]: p["dnsSuffix"] for p in PARTITIONS}

label = st.from_regex(r"[a-z0-9]([-a-z0-9]{0,14}[a-z0-9])?", fullmatch=True)
namespaces = label
service_accounts = st.lists(label, min_size=1, max_size=3).map(".".join)
accounts = st.from_regex(r"[0-9]{12}", fullmatch=True)
resource_ids = st.from_regex(r"(cluster|db)-[A-Z0-9]{26}", fullmatch=True)
db_users = st.from_regex(r"[A-Za-z_][A-Za-z0-9_$]{0,20}", fullmatch=True)
partition_regions = st.sampled_from(KNOWN_REGIONS)


@st.composite
def issuers(draw) -> tuple[str, str]:
    """(partition, issuer host/path): EKS issuers, and other hosts with ports and paths."""
    partition, region = draw(partition_regions)
    if draw(st.booleans()):
        issuer = f"oidc.eks.{region}.{DNS[partition]}/id/" + draw(
            st.text("0123456789ABCDEF", min_size=32, max_size=32))
    else:
        host = ".".join(draw(st.lists(label, min_size=1, max_size=3)))
        port = draw(st.one_of(st.none(), st.integers(1, 65535)))
        path = "".join("/" + segment for segment in draw(st.lists(
            st.text(string.ascii_letters + string.digits + "._~-", min_size=1, max_size=8),
            max_size=3)))
        issuer = host + (f":{port}" if port else "") + path
    return partition, issuer


@st.composite
def trust_inputs(draw) -> dict[str, str]:
    partition, issuer = draw(issuers())
    return {"oidc_provider_arn": f"arn:{partition}:iam::{draw(accounts)}:oidc-provider/{issuer}",
            "oidc_provider_url": issuer, "namespace": draw(namespaces),
            "service_account_name": draw(service_accounts)}


@st.composite
def connect_inputs(draw) -> dict[str, str]:
    partition, region = draw(partition_regions)
    return {"partition": partition, "region": region, "account_id": draw(accounts),
            "resource_id": draw(resource_ids), "db_user": draw(db_users)}


def _trust_allows(document: dict, inputs: dict, namespace: str, service_account: str,
                  aud: str = "sts.amazonaws.com", provider: str | None = None) -> bool:
    issuer = inputs["oidc_provider_url"]
    request = Request(
        action="sts:AssumeRoleWithWebIdentity", resource="arn:aws:iam::123456789012:role/r",
        principal=Principal("Federated", provider or inputs["oidc_provider_arn"]),
        context={f"{issuer}:sub": f"system:serviceaccount:{namespace}:{service_account}",
                 f"{issuer}:aud": aud})
    return evaluate_trust_policy(parse_policy(document), request).allowed


@PROPERTY
@given(trust_inputs(), namespaces, service_accounts)
def test_trust_policy_admits_its_service_account_and_no_other(inputs, other_ns, other_sa):
    document = trust_policy(**inputs)
    ns, sa = inputs["namespace"], inputs["service_account_name"]
    assert _trust_allows(document, inputs, ns, sa)
    assert _trust_allows(document, inputs, other_ns, sa) is (other_ns == ns)
    assert _trust_allows(document, inputs, ns, other_sa) is (other_sa == sa)
    assert not _trust_allows(document, inputs, ns, sa, aud="sts.amazonaws.com.evil")
    assert not _trust_allows(document, inputs, ns, sa,
                             provider=inputs["oidc_provider_arn"] + "x")
    check_trust_document(document, TrustExpectation(
        provider_arn=inputs["oidc_provider_arn"], issuer=inputs["oidc_provider_url"],
        namespace=ns, service_account=sa))


@PROPERTY
@given(connect_inputs(), connect_inputs())
def test_connect_policy_allows_its_dbuser_arn_and_no_other(inputs, other):
    document = connect_policy(**inputs)
    policy = parse_policy(document)

    def allows(arn: str, action: str = "rds-db:connect") -> bool:
        return evaluate_identity_policies([policy], Request(action, arn)).allowed

    def arn(values: dict) -> str:  # any combination, valid or not, as a request could name it
        return ("arn:{partition}:rds-db:{region}:{account_id}:dbuser:{resource_id}/{db_user}"
                .format(**values))

    assert arn(inputs) == dbuser_arn(**inputs)
    assert allows(arn(inputs))
    for field in inputs:
        neighbour = {**inputs, field: other[field]}
        assert allows(arn(neighbour)) is (neighbour == inputs), field
    assert not allows(dbuser_arn(**inputs), action="rds-db:connectx")
    assert not allows(dbuser_arn(**inputs), action="rds:ModifyDBCluster")
    check_connect_document(document, ConnectExpectation(**inputs))


@PROPERTY
@given(trust_inputs(), st.data())
def test_a_wildcard_anywhere_in_a_trust_argument_is_refused(inputs, data):
    argument = data.draw(st.sampled_from(sorted(inputs)))
    value = inputs[argument]
    position = data.draw(st.integers(0, len(value)))
    wildcard = data.draw(st.sampled_from("*?"))
    with pytest.raises(PolicyInputError, match="wildcard") as error:
        trust_policy(**{**inputs, argument: value[:position] + wildcard + value[position:]})
    assert error.value.argument == argument


@PROPERTY
@given(connect_inputs(), st.data())
def test_a_wildcard_anywhere_in_a_connect_argument_is_refused(inputs, data):
    argument = data.draw(st.sampled_from(sorted(inputs)))
    value = inputs[argument]
    position = data.draw(st.integers(0, len(value)))
    wildcard = data.draw(st.sampled_from("*?"))
    with pytest.raises(PolicyInputError, match="wildcard") as error:
        connect_policy(**{**inputs, argument: value[:position] + wildcard + value[position:]})
    assert error.value.argument == argument


@PROPERTY
@given(trust_inputs(), st.sampled_from(["https://", "http://", "HTTPS://", "oidc+tls://"]))
def test_an_issuer_with_a_scheme_is_refused(inputs, scheme):
    with pytest.raises(PolicyInputError, match="scheme") as error:
        trust_policy(**{**inputs, "oidc_provider_url": scheme + inputs["oidc_provider_url"]})
    assert error.value.argument == "oidc_provider_url"


@PROPERTY
@given(trust_inputs(), issuers())
def test_an_issuer_other_than_the_providers_is_refused(inputs, other):
    assume(other[1] != inputs["oidc_provider_url"])
    with pytest.raises(PolicyInputError, match="does not match") as error:
        trust_policy(**{**inputs, "oidc_provider_url": other[1]})
    assert error.value.argument == "oidc_provider_url"


@PROPERTY
@given(trust_inputs(), st.sampled_from(["namespace", "service_account_name"]), st.data())
def test_invalid_kubernetes_names_are_refused(inputs, argument, data):
    value = inputs[argument]
    broken = data.draw(st.sampled_from([
        value.upper() + "A",            # upper case
        value + "_x",                   # underscore
        "-" + value,                    # leading hyphen
        value + "-",                    # trailing hyphen
        value + ":x",                   # would forge another sub
        value + " ",                    # white space
        "a" * 64 if argument == "namespace" else "a" * 254,  # too long
        "",
    ]))
    with pytest.raises(PolicyInputError) as error:
        trust_policy(**{**inputs, argument: broken})
    assert error.value.argument == argument


def test_a_dotted_service_account_is_valid_but_a_dotted_namespace_is_not():
    inputs = {"oidc_provider_arn": "arn:aws:iam::123456789012:oidc-provider/oidc.example/id/1",
              "oidc_provider_url": "oidc.example/id/1", "namespace": "demo",
              "service_account_name": "api.v2"}
    assert trust_policy(**inputs)
    with pytest.raises(PolicyInputError) as error:
        trust_policy(**{**inputs, "namespace": "de.mo"})
    assert error.value.argument == "namespace"


@pytest.mark.parametrize("resource_id, why", [
    ("my-cluster", "a cluster identifier"),
    ("cluster-mydbcluster", "an identifier that starts with cluster-"),
    ("arn:aws:rds:us-east-1:123456789012:cluster:my-cluster", "the cluster's ARN"),
    ("cluster-", "an empty id"),
    ("instance-ABCDEF", "another prefix"),
    ("", "nothing"),
])
def test_a_resource_id_that_is_not_one_is_refused(resource_id, why):
    with pytest.raises(PolicyInputError) as error:
        connect_policy("aws", "us-east-1", "123456789012", resource_id, "app_user")
    assert error.value.argument == "resource_id", why


@pytest.mark.parametrize("argument, value", [
    ("db_user", ""), ("db_user", "app user"), ("db_user", "app/user"), ("db_user", "1app"),
    ("account_id", "12345678901"), ("account_id", "abcdefghijkl"),
    ("region", "us-east"), ("region", "cn-north-1"), ("partition", "aws-mars"),
])
def test_invalid_connect_arguments_are_refused_by_name(argument, value):
    inputs = {"partition": "aws", "region": "us-east-1", "account_id": "123456789012",
              "resource_id": "cluster-ABCDEFGHIJKLMNOPQRSTUVWXYZ", "db_user": "app_user"}
    with pytest.raises(PolicyInputError) as error:
        connect_policy(**{**inputs, argument: value})
    assert error.value.argument == argument
    assert argument in str(error.value)


@pytest.mark.parametrize("arn, why", [
    ("arn:aws:iam::123456789012:role/oidc.eks.us-east-1.amazonaws.com/id/X", "a role"),
    ("arn:aws:iam::123456789012:saml-provider/corp", "a SAML provider"),
    ("arn:aws:iam:us-east-1:123456789012:oidc-provider/o.example/id/X", "a regional ARN"),
    ("arn:aws:iam::1234:oidc-provider/o.example/id/X", "a short account"),
    ("oidc.eks.us-east-1.amazonaws.com/id/X", "not an ARN"),
    ("arn:aws:iam::123456789012:oidc-provider/https://o.example/id/X", "a scheme inside"),
])
def test_a_provider_arn_that_is_not_an_oidc_provider_is_refused(arn, why):
    with pytest.raises(PolicyInputError) as error:
        parse_oidc_provider_arn(arn)
    assert error.value.argument == "oidc_provider_arn", why


def test_documents_are_compact_json_of_the_documents():
    trust = ("arn:aws:iam::123456789012:oidc-provider/oidc.example/id/1", "oidc.example/id/1",
             "demo", "demo-app")
    assert json.loads(trust_policy_json(*trust)) == trust_policy(*trust)
    connect = ("aws", "us-east-1", "123456789012", "cluster-ABC", "app_user")
    assert json.loads(connect_policy_json(*connect)) == connect_policy(*connect)
    assert " " not in connect_policy_json(*connect)


def test_partition_table_agrees_with_botocore_for_every_known_region():
    for partition, region in KNOWN_REGIONS:
        owners = [name for name, pattern in PARTITION_REGIONS.items() if pattern.match(region)]
        assert owners == [partition], region
