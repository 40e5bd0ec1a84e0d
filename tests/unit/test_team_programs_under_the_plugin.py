"""The team-written programs of tests/e2e/byop/, unit-tested the way a team tests its own with
the pgiam pytest plugin (``pgiam_program``): the pod's role trusts exactly its service account,
and may connect exactly as its database user."""

from __future__ import annotations

from pathlib import Path

import pytest

BYOP = Path(__file__).resolve().parents[1] / "e2e" / "byop"
ROLE = "aws:iam/role:Role"

# program -> (role, service account subject, database resource, database user, id output)
PROGRAMS = {
    "orders_instance_plain_eks": ("orders-api-irsa", "system:serviceaccount:orders:orders-api",
                                  ("aws:rds/instance:Instance", "orders-db"), "orders_api",
                                  "resourceId"),
    "payments_aurora_pulumi_eks": ("ledger-writer-role",
                                   "system:serviceaccount:ledger:ledger-writer",
                                   ("aws:rds/cluster:Cluster", "payments-aurora"), "ledger_svc",
                                   "clusterResourceId"),
    # its database inside the team's own component, the connect policy a standalone RolePolicy
    "inventory_component_aurora_plain_eks": ("stock-reader-pods",
                                             "system:serviceaccount:stock:stock-reader",
                                             ("aws:rds/cluster:Cluster", "inventory-db-cluster"),
                                             "stock_reader", "clusterResourceId"),
}


@pytest.fixture(params=sorted(PROGRAMS), scope="module")
def program(request, pgiam_program, pulumi_sdk):
    role, subject, database, user, id_key = PROGRAMS[request.param]
    stack = pgiam_program(BYOP / request.param)
    return stack, stack.resource(ROLE, role), subject, stack.state(stack.resource(*database)), \
        user, id_key


def test_the_pods_role_trusts_exactly_its_service_account(program) -> None:
    stack, role, subject, _, _, _ = program
    assert stack.trust_allows(role, subject).allowed
    namespace = subject.split(":")[2]
    for other in (f"system:serviceaccount:{namespace}:default",
                  f"system:serviceaccount:{namespace}-staging:{subject.rsplit(':', 1)[1]}"):
        assert not stack.trust_allows(role, other).allowed, other
    assert not stack.trust_allows(role, subject, audience="another").allowed


def test_the_pods_role_connects_exactly_as_its_user(program) -> None:
    stack, role, _, database, user, id_key = program
    resource_id = database[id_key]
    assert resource_id.startswith(("db-", "cluster-"))
    arn = f"arn:aws:rds-db:us-east-1:123456789012:dbuser:{resource_id}/"
    assert stack.role_allows(role, "rds-db:connect", arn + user).allowed
    master = database.get("masterUsername") or database.get("username")
    for other in (master, "postgres", "*"):
        assert not stack.role_allows(role, "rds-db:connect", arn + other).allowed, other
