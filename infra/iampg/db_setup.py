"""DbSetup: the IAM database user and exactly the rights the demo app needs, over TLS.

What it runs as the master user (pulumi-postgresql, explicit provider):

* ``CREATE ROLE <user> LOGIN`` - no SUPERUSER, CREATEDB, CREATEROLE, REPLICATION or BYPASSRLS,
  no password (it logs in with IAM tokens only);
* ``GRANT rds_iam TO <user>`` - never to the master user: a role in ``rds_iam`` can no longer log
  in with its password, so that would lock the master out;
* ``GRANT CONNECT ON DATABASE``, ``GRANT USAGE, CREATE ON SCHEMA public`` (PostgreSQL 15+ no
  longer gives CREATE on public to everyone; the app creates its own table through its setup
  endpoint and owns it, so owner rights cover that table);
* ``SELECT, INSERT, UPDATE, DELETE`` on the tables and ``USAGE, SELECT`` on the sequences that
  exist, and the same by default on those the table owners (the master user, who runs
  migrations) create later.

The RDS master user is not a PostgreSQL superuser (it is a member of ``rds_superuser``): the
provider runs with ``superuser=False`` so it never relies on superuser-only statements.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Sequence

import pulumi
import pulumi_postgresql as postgresql

from .policy_documents import validate_db_user

RDS_IAM_ROLE = "rds_iam"
# Roles RDS creates and manages; none of them may be (re)defined by this component.
RDS_RESERVED_ROLES = frozenset({"rds_iam", "rds_superuser", "rds_replication", "rds_password",
                                "rdsadmin", "rdsrepladmin", "rdsproxyadmin", "postgres"})
TLS_MODES = ("require", "verify-ca", "verify-full")
TABLE_PRIVILEGES = ("DELETE", "INSERT", "SELECT", "UPDATE")
SEQUENCE_PRIVILEGES = ("SELECT", "USAGE")
SCHEMA = "public"


@dataclass
class DbSetupArgs:
    host: pulumi.Input[str]
    port: pulumi.Input[int]
    database: str
    master_username: str
    master_password: pulumi.Input[str]
    iam_db_user: str
    # verify-full with the CA bundle file when the deployer has one, else require (see docs).
    sslmode: str = "verify-full"
    sslrootcert: str | None = None
    expected_version: str | None = None
    table_owners: Sequence[str] = field(default_factory=tuple)


def check_args(args: DbSetupArgs) -> None:
    """Refuse arguments that would build a broken or dangerous database setup."""
    validate_db_user(args.iam_db_user, "iam_db_user")
    validate_db_user(args.master_username, "master_username")
    if args.iam_db_user == args.master_username:
        raise ValueError(f"iam_db_user: {args.iam_db_user!r} is the master user: granting "
                         f"{RDS_IAM_ROLE} to it locks it out of password login")
    if args.iam_db_user in RDS_RESERVED_ROLES:
        raise ValueError(f"iam_db_user: {args.iam_db_user!r} is a role RDS manages")
    if args.sslmode not in TLS_MODES:
        raise ValueError(f"sslmode: must be one of {', '.join(TLS_MODES)}: the master password "
                         f"never travels in clear text (got {args.sslmode!r})")
    if args.sslmode.startswith("verify-") and not args.sslrootcert:
        raise ValueError(f"sslrootcert: sslmode {args.sslmode} needs the CA bundle file")
    for owner in args.table_owners:
        validate_db_user(owner, "table_owners")


class DbSetup(pulumi.ComponentResource):
    role_name: pulumi.Output[str]

    def __init__(self, name: str, args: DbSetupArgs,
                 opts: pulumi.ResourceOptions | None = None) -> None:
        check_args(args)
        super().__init__("iampg:index:DbSetup", name, None, opts)
        provider = postgresql.Provider(
            f"{name}-pg",
            host=args.host,
            port=args.port,
            database=args.database,
            username=args.master_username,
            password=args.master_password,
            sslmode=args.sslmode,
            sslrootcert=args.sslrootcert,
            superuser=False,
            connect_timeout=30,
            expected_version=args.expected_version,
            opts=pulumi.ResourceOptions(parent=self))
        sql = pulumi.ResourceOptions(parent=self, provider=provider)

        role = postgresql.Role(
            f"{name}-iam-user",
            name=args.iam_db_user,
            login=True,
            superuser=False,
            create_database=False,
            create_role=False,
            replication=False,
            bypass_row_level_security=False,
            inherit=True,
            opts=sql)
        on_role = pulumi.ResourceOptions(parent=self, provider=provider, depends_on=[role])
        postgresql.GrantRole(f"{name}-rds-iam", role=role.name, grant_role=RDS_IAM_ROLE,
                             with_admin_option=False, opts=on_role)
        postgresql.Grant(f"{name}-connect", database=args.database, role=role.name,
                         object_type="database", privileges=["CONNECT"], opts=on_role)
        schema_grant = postgresql.Grant(
            f"{name}-schema", database=args.database, schema=SCHEMA, role=role.name,
            object_type="schema", privileges=["CREATE", "USAGE"], opts=on_role)
        on_schema = pulumi.ResourceOptions(parent=self, provider=provider,
                                           depends_on=[role, schema_grant])
        postgresql.Grant(f"{name}-tables", database=args.database, schema=SCHEMA, role=role.name,
                         object_type="table", objects=[], privileges=list(TABLE_PRIVILEGES),
                         opts=on_schema)
        postgresql.Grant(f"{name}-sequences", database=args.database, schema=SCHEMA,
                         role=role.name, object_type="sequence", objects=[],
                         privileges=list(SEQUENCE_PRIVILEGES), opts=on_schema)
        for owner in dict.fromkeys(args.table_owners or (args.master_username,)):
            postgresql.DefaultPrivileges(
                f"{name}-future-tables-{owner}", database=args.database, schema=SCHEMA,
                owner=owner, role=role.name, object_type="table",
                privileges=list(TABLE_PRIVILEGES), opts=on_schema)
            postgresql.DefaultPrivileges(
                f"{name}-future-sequences-{owner}", database=args.database, schema=SCHEMA,
                owner=owner, role=role.name, object_type="sequence",
                privileges=list(SEQUENCE_PRIVILEGES), opts=on_schema)

        self.role_name = role.name
        self.register_outputs({"roleName": self.role_name})
