"""The local RDS servers' authentication rules and the bind DN that carries user and resource id."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pgiam.localcloud.rds.hba import AccessRules, ldap_suffix, parse_bind_dn, render_pg_hba

RULES = AccessRules(addresses=("127.0.0.1", "::1"), ldap_host="127.0.0.1", ldap_port=3890,
                    resource_id="cluster-ABC123", admin_os_users=("root",))


def hba_lines() -> list[list[str]]:
    return [line.split() for line in render_pg_hba(RULES).splitlines() if not line.startswith("#")]


def test_rds_iam_members_get_ldap_on_tls_lines_only_and_are_rejected_otherwise():
    lines = hba_lines()
    iam = [line for line in lines if line[2] == "+rds_iam"]
    assert [line[0] for line in iam] == ["hostssl", "hostssl", "host"]
    assert all(line[4] == "ldap" for line in iam[:2]) and iam[2][4] == "reject"
    assert 'ldapsuffix=",ou=cluster-ABC123,dc=pgiam-rds"' in " ".join(iam[0])
    first_password_line = next(i for i, line in enumerate(lines) if "scram-sha-256" in line)
    assert lines.index(iam[2]) < first_password_line  # no password line can match an rds_iam member


def test_rdsadmin_only_through_the_socket_by_peer_identity():
    lines = hba_lines()
    admin = [line for line in lines if line[2] == "rdsadmin"]
    assert admin[0][:2] == ["local", "all"] and admin[0][3] == "peer"
    assert admin[1][0] == "host" and admin[1][-1] == "reject"


@settings(max_examples=30, deadline=None)
@given(user=st.text(st.characters(blacklist_characters="\x00", blacklist_categories=("Cs",)), min_size=1,
                    max_size=63))
def test_any_user_name_comes_back_out_of_the_dn_postgresql_builds(user):
    dn = "cn=" + user + ldap_suffix("cluster-ABC123")
    assert parse_bind_dn(dn) == (user, "cluster-ABC123")


@pytest.mark.parametrize("dn", [
    "", "cn=app_user", "cn=,ou=cluster-A,dc=pgiam-rds", "uid=app_user,ou=cluster-A,dc=pgiam-rds",
    "cn=app_user,ou=cluster-A,dc=pgiam-rds,dc=extra", "cn=app_user,ou=instance-A,dc=pgiam-rds",
    "cn=app_user,ou=cluster-A B,dc=pgiam-rds", "cn=a\x00b,ou=cluster-A,dc=pgiam-rds",
])
def test_other_dns_are_not_parsed(dn):
    assert parse_bind_dn(dn) is None


def test_resource_ids_outside_the_rds_alphabet_are_refused_in_the_config():
    with pytest.raises(ValueError):
        ldap_suffix('cluster-A" ldapserver=evil')
