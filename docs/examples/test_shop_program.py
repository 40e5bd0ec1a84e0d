"""Unit tests of a team's own program with the pgiam pytest plugin (installed with pgiam: no
conftest needed). Run with ``pytest -m unit``."""

from pathlib import Path

import pytest

from pgiam.testing import UNKNOWN

pytestmark = pytest.mark.unit

PROGRAM = Path(__file__).parent / "shop_program"
PROVIDER = ("arn:aws:iam::123456789012:oidc-provider/"
            "oidc.eks.us-east-1.amazonaws.com/id/EXAMPLED539D4633E53DE1B716D3041E")
CONFIG = {"oidcProviderArn": PROVIDER}          # dbPassword is secret: a placeholder is given


@pytest.fixture(scope="module")
def shop(pgiam_program):
    return pgiam_program(PROGRAM, CONFIG)


def test_only_the_checkout_service_account_can_assume_the_role(shop):
    role = shop.resource("aws:iam/role:Role", "checkout")
    assert shop.trust_allows(role, "system:serviceaccount:shop:checkout").allowed
    assert not shop.trust_allows(role, "system:serviceaccount:shop:default").allowed
    assert not shop.trust_allows(role, "system:serviceaccount:shop:checkout",
                                 audience="another-audience").allowed


def test_the_role_connects_as_checkout_and_nobody_else(shop):
    role = shop.resource("aws:iam/role:Role", "checkout")
    db = shop.state(shop.resource("aws:rds/instance:Instance", "shop-db"))
    assert db["resourceId"].startswith("db-") and db["iamDatabaseAuthenticationEnabled"]
    user_arn = f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{db['resourceId']}/"
    assert shop.role_allows(role, "rds-db:connect", user_arn + "checkout").allowed
    assert not shop.role_allows(role, "rds-db:connect", user_arn + "shop_admin").allowed


def test_at_preview_the_resource_id_is_not_known_yet(pgiam_program):
    preview = pgiam_program(PROGRAM, CONFIG, preview=True)
    db = preview.state(preview.resource("aws:rds/instance:Instance", "shop-db"))
    assert db["resourceId"] is UNKNOWN
    assert db["iamDatabaseAuthenticationEnabled"] is True      # inputs are known at preview
