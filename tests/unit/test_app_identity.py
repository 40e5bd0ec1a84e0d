"""Reading the caller identity and explaining credential failures on one line."""

from __future__ import annotations

import botocore.exceptions
import pytest

from app.identity import NO_CREDENTIALS_HINT, assumed_role_name, describe_aws_failure


@pytest.mark.parametrize("arn,role", [
    ("arn:aws:sts::123456789012:assumed-role/demo-app-role/botocore-session-1", "demo-app-role"),
    ("arn:aws-us-gov:sts::123456789012:assumed-role/r/s", "r"),
    ("arn:aws:iam::123456789012:user/alice", None),
    ("arn:aws:sts::123456789012:federated-user/bob", None),
    ("arn:aws:sts::123456789012:assumed-role/no-session", None),
    ("not an arn", None),
])
def test_the_role_is_read_from_an_assumed_role_arn(arn, role):
    assert assumed_role_name(arn) == role


def test_no_credentials_points_at_irsa():
    reason = describe_aws_failure(botocore.exceptions.NoCredentialsError())
    assert reason == NO_CREDENTIALS_HINT and "AWS_ROLE_ARN" in reason


def test_an_sts_refusal_names_the_call_and_the_code():
    exc = botocore.exceptions.ClientError(
        {"Error": {"Code": "AccessDenied", "Message": "Not authorized to perform sts:AssumeRoleWithWebIdentity"}},
        "AssumeRoleWithWebIdentity")
    assert describe_aws_failure(exc) == ("AssumeRoleWithWebIdentity refused: AccessDenied: "
                                         "Not authorized to perform sts:AssumeRoleWithWebIdentity")


def test_a_missing_web_identity_token_file_is_named():
    exc = FileNotFoundError(2, "No such file or directory", "/var/run/secrets/eks.amazonaws.com/token")
    assert describe_aws_failure(exc) == "web identity token file not found: /var/run/secrets/eks.amazonaws.com/token"
