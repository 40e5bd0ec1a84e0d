"""What a local RDS PostgreSQL server is told: ``pg_hba.conf``, ``pg_ident.conf`` and the
settings file. Pure text rendering.

Who may log in how, as on RDS:

* members of ``rds_iam`` only over TLS, only with an IAM token as the password: PostgreSQL's
  ``ldap`` method in simple-bind mode asks the local cloud's LDAP responder, which runs the token
  check, over ``ldaps`` (``ldapscheme=ldaps``): the server's libldap verifies the responder's
  certificate against the local CA, so nothing else that binds the responder's port can admit
  a login. The bind DN carries the user and the resource id the IAM policy names
  (``cn=<user>,ou=<resource id>,dc=pgiam-rds``); the same roles over plain TCP are rejected;
* every other role with its SCRAM password, over TLS or not (Aurora PostgreSQL's default
  ``rds.force_ssl`` is 0);
* ``rdsadmin`` (the bootstrap superuser, as RDS names it) only over the server's private Unix
  socket, by peer identity (the local cloud's own OS user), never over TCP.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

ADMIN_ROLE = "rdsadmin"
IAM_ROLE = "rds_iam"
SUPERUSER_ROLE = "rds_superuser"
DN_PREFIX = "cn="
DN_SUFFIX_FORMAT = ",ou={resource_id},dc=pgiam-rds"
RESOURCE_ID = re.compile(r"^(?:cluster|db)-[A-Za-z0-9]{1,64}$")
IDENT_MAP = "localcloud"
# PostgreSQL builds the DN as prefix + user name + suffix, the user name unescaped (it may hold
# ',' or '='): the suffix is anchored at the end and its resource id has a fixed alphabet, so the
# user is exactly what lies between. NAMEDATALEN bounds user names to 63 bytes.
_BIND_DN = re.compile(r"^cn=(?P<user>.{1,63}),ou=(?P<resource_id>(?:cluster|db)-[A-Za-z0-9]{1,64}),"
                      r"dc=pgiam-rds$", re.DOTALL)


@dataclass(frozen=True)
class AccessRules:
    """Inputs of ``pg_hba.conf``: the loopback addresses served, the LDAP responder, the resource
    id the bind DN names, and the OS users that may act as ``rdsadmin``."""

    addresses: Sequence[str]
    ldap_host: str
    ldap_port: int
    resource_id: str
    admin_os_users: Sequence[str]
    ldap_tls: bool = True


def _cidr(address: str) -> str:
    if "/" in address:  # already a network (the endpoint servers' clients: 127.0.0.0/8)
        return address
    return f"{address}/128" if ":" in address else f"{address}/32"


def ldap_suffix(resource_id: str) -> str:
    if not RESOURCE_ID.match(resource_id):
        raise ValueError(f"resource id {resource_id!r} is not cluster-... or db-...")
    return DN_SUFFIX_FORMAT.format(resource_id=resource_id)


def parse_bind_dn(dn: str) -> tuple[str, str] | None:
    """``(user, resource_id)`` from a bind DN PostgreSQL built with :func:`render_pg_hba`'s
    prefix and suffix; None for anything else."""
    match = _BIND_DN.match(dn)
    if match is None or "\x00" in match["user"]:
        return None
    return match["user"], match["resource_id"]


def render_pg_hba(rules: AccessRules) -> str:
    scheme = "ldaps" if rules.ldap_tls else "ldap"
    ldap = (f'ldap ldapserver={rules.ldap_host} ldapport={rules.ldap_port} ldapscheme={scheme} '
            f'ldapprefix="{DN_PREFIX}" ldapsuffix="{ldap_suffix(rules.resource_id)}"')
    lines = ["# written by pgiam localcloud: RDS-like authentication (see pgiam/localcloud/rds/hba.py)",
             f"local   all  {ADMIN_ROLE}  peer map={IDENT_MAP}",
             "local   all  all  reject",
             f"host    all  {ADMIN_ROLE}  all  reject"]
    lines += [f"hostssl all  +{IAM_ROLE}  {_cidr(a)}  {ldap}" for a in rules.addresses]
    lines += [f"host    all  +{IAM_ROLE}  all  reject"]
    lines += [f"host    all  all  {_cidr(a)}  scram-sha-256" for a in rules.addresses]
    return "\n".join(lines) + "\n"


def render_pg_ident(admin_os_users: Sequence[str]) -> str:
    return "".join(f"{IDENT_MAP}  {user}  {ADMIN_ROLE}\n" for user in admin_os_users)


def _quoted(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def render_settings(*, port: int, addresses: Sequence[str], socket_dir: str) -> str:
    """The server's settings (included from ``postgresql.conf``): loopback TCP and a private
    socket, TLS with the local CA's certificate, SCRAM, and durability traded for speed (a local
    cloud's data is thrown away with it)."""
    settings = {
        "listen_addresses": _quoted(",".join(addresses)),
        "port": str(port),
        "unix_socket_directories": _quoted(socket_dir),
        "unix_socket_permissions": "0700",
        "ssl": "on",
        "ssl_cert_file": _quoted("server.crt"),
        "ssl_key_file": _quoted("server.key"),
        "ssl_min_protocol_version": _quoted("TLSv1.2"),
        "password_encryption": _quoted("scram-sha-256"),
        "fsync": "off",
        "synchronous_commit": "off",
        "full_page_writes": "off",
        "shared_buffers": _quoted("32MB"),
        "max_connections": "100",
        "max_wal_size": _quoted("256MB"),
        "logging_collector": "off",
        "log_destination": _quoted("stderr"),
        "log_line_prefix": _quoted("%m [%p] %q%u@%d "),
    }
    return "".join(f"{name} = {value}\n" for name, value in settings.items())
