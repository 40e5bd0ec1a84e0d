"""pulumi-postgresql resources as real SQL against the cluster, with the program's own provider
settings (host, port, database, username, password, sslmode, sslrootcert, superuser,
connect timeout): a role the program forgot to grant, a grant on the wrong schema, a provider
that cannot verify the server, all fail here as they fail against Aurora.

The statements are the provider's (cyrilgdn/terraform-provider-postgresql): a Grant first
revokes what the role has on those objects and then grants exactly its privileges; a Role's
delete reassigns and drops what the role owns in the provider's database before DROP ROLE; with
``superuser = false`` the provider grants the role to itself where PostgreSQL requires
membership (REASSIGN OWNED, ALTER DEFAULT PRIVILEGES FOR ROLE).

The provider's password lives in the engine's memory only: a delete in another process (a sweep
after a crash) cannot connect, and leaves the role to go with its server
(:class:`~pgiam.e2e.engine.resources.DeferredToServer`).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from typing import Any

from pgiam.e2e.engine.aws_api import truthy
from pgiam.e2e.engine.context import EngineContext
from pgiam.e2e.engine.rds_ca import deployer_root_cert
from pgiam.e2e.engine.resources import provider_id as provider_id_of
from pgiam.e2e.engine.resources import (
    Created,
    CreateRequest,
    DeferredToServer,
    EngineError,
    handles,
)
from pgiam.e2e.engine.state import ResourceEntry
from pgiam.localcloud.rds.resolver import connect_address

_SQL_LOCK = threading.Lock()
_OBJECT_KINDS = {"table": "TABLES", "sequence": "SEQUENCES", "function": "FUNCTIONS",
                 "procedure": "PROCEDURES", "routine": "ROUTINES"}
_DEFAULT_KINDS = {"table": "TABLES", "sequence": "SEQUENCES", "function": "FUNCTIONS",
                  "type": "TYPES", "schema": "SCHEMAS"}


def _settings(ctx: EngineContext, provider_id: str) -> Mapping[str, Any]:
    """The provider's settings, with the local address of an RDS endpoint name as ``hostaddr``:
    the engine's process does not resolve the local cloud's names (pods do, see
    pgiam.localcloud.rds.resolver); libpq still verifies the certificate against ``host``."""
    settings = dict(_provider_settings(ctx, provider_id))
    address = connect_address(ctx.cloud.hosts_file, str(settings.get("host") or "")) \
        if ctx.cloud.hosts_file else None
    if address:
        settings["hostaddr"] = address
    root = deployer_root_cert(settings.get("sslrootcert"), settings.get("sslmode"),
                              ctx.cloud.ca_bundle)
    if root:
        settings["sslrootcert"] = root
    return settings


def _provider_settings(ctx: EngineContext, provider_id: str) -> Mapping[str, Any]:
    provider = ctx.providers.get(provider_id)
    if provider is not None:
        return provider
    # The default provider: the stack's postgresql:* configuration.
    config = {key.split(":", 1)[1]: value for key, value in ctx.config.items()
              if key.startswith("postgresql:")}
    if not config.get("host"):
        raise DeferredToServer("the PostgreSQL provider's settings are not known in this "
                               "process")
    return config


@contextlib.contextmanager
def connect(settings: Mapping[str, Any], database: str | None = None) -> Iterator[Any]:
    import psycopg2

    params: dict[str, Any] = {
        "host": settings.get("host"), "port": int(settings.get("port") or 5432),
        "dbname": database or settings.get("database") or "postgres",
        "user": settings.get("username") or "postgres",
        "password": settings.get("password") or "",
        "sslmode": settings.get("sslmode") or "require",
        "connect_timeout": int(settings.get("connectTimeout") or 30),
        "application_name": "pgiam-e2e-engine",
    }
    if settings.get("sslrootcert"):
        params["sslrootcert"] = settings["sslrootcert"]
    if settings.get("hostaddr"):
        params["hostaddr"] = settings["hostaddr"]
    if settings.get("sslcert"):
        params["sslcert"] = settings["sslcert"]
    try:
        connection = psycopg2.connect(**params)
    except psycopg2.OperationalError as error:
        raise EngineError(f"PostgreSQL provider: cannot connect to {params['host']}:"
                          f"{params['port']}/{params['dbname']} as {params['user']} "
                          f"(sslmode {params['sslmode']}): {' '.join(str(error).split())}"
                          ) from None
    connection.autocommit = True
    try:
        yield connection
    finally:
        connection.close()


def _run(settings: Mapping[str, Any], database: str | None, *statements: Any, what: str,
         act_as: tuple[str, ...] = ()) -> None:
    """Run ``statements``; without superuser, as a member of the roles in ``act_as`` (the
    provider's ``withRolesGranted``: PostgreSQL lets only an object's owner, or a member of the
    owning role, grant or revoke on it, and the app owns the table it created).

    One statement batch at a time (:data:`_SQL_LOCK`): while the provider's user is a member of
    the IAM user's role it is, through it, a member of ``rds_iam``, and a login of it would be
    asked for a token (the lock-out the field notes describe); no connection of the engine may
    start inside that window, and the membership is revoked before the lock is released."""
    import psycopg2
    from psycopg2 import sql

    with _SQL_LOCK, connect(settings, database) as connection, connection.cursor() as cursor:
        granted: list[str] = []
        try:
            if not truthy(settings.get("superuser", True)):
                for role in dict.fromkeys(act_as):
                    cursor.execute("SELECT pg_has_role(current_user, %s, 'MEMBER')", (role,))
                    if not cursor.fetchone()[0]:
                        cursor.execute(sql.SQL("GRANT {} TO CURRENT_USER").format(_ident(role)))
                        granted.append(role)
            for statement in statements:
                cursor.execute(statement)
        except psycopg2.Error as error:
            raise EngineError(f"{what}: {' '.join(str(error).split())}") from None
        finally:
            for role in granted:
                with contextlib.suppress(psycopg2.Error):
                    cursor.execute(sql.SQL("REVOKE {} FROM CURRENT_USER").format(_ident(role)))


def _ident(name: str) -> Any:
    from psycopg2 import sql

    return sql.Identifier(name)


def _grantee(role: str) -> Any:
    from psycopg2 import sql

    return sql.SQL("PUBLIC") if role.lower() == "public" else _ident(role)


def _privileges(privileges: list[str]) -> Any:
    from psycopg2 import sql

    return sql.SQL(", ").join(sql.SQL(privilege.upper().replace("_", " "))
                              for privilege in privileges)


def _owners(role: str) -> tuple[str, ...]:
    """The roles to act as for a grant to ``role``: the grantee itself (it may own objects the
    grant covers, like a table the app created), never PUBLIC."""
    return () if role.lower() == "public" else (role,)


def _data(request: CreateRequest, **extra: Any) -> dict[str, Any]:
    return {"providerId": request.provider_id, **extra}


class _Sql:
    def _settings(self, ctx: EngineContext, entry_or_request: Any) -> Mapping[str, Any]:
        if isinstance(entry_or_request, CreateRequest):
            pid = entry_or_request.provider_id
        else:
            pid = entry_or_request.data.get("providerId") or provider_id_of(
                entry_or_request.provider)
        return _settings(ctx, pid)

    def exists(self, ctx: EngineContext, entry: ResourceEntry) -> bool:
        return False  # lives inside the cluster's server, which the cluster check covers


@handles("postgresql:index/role:Role")
class Role(_Sql):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        from psycopg2 import sql

        settings = self._settings(ctx, request)
        name = request.inputs.get("name") or request.name
        options = []
        for key, yes, no in (("login", "LOGIN", "NOLOGIN"),
                             ("superuser", "SUPERUSER", "NOSUPERUSER"),
                             ("createDatabase", "CREATEDB", "NOCREATEDB"),
                             ("createRole", "CREATEROLE", "NOCREATEROLE"),
                             ("inherit", "INHERIT", "NOINHERIT"),
                             ("replication", "REPLICATION", "NOREPLICATION"),
                             ("bypassRowLevelSecurity", "BYPASSRLS", "NOBYPASSRLS")):
            if key in request.inputs:
                options.append(sql.SQL(yes if truthy(request.inputs[key]) else no))
        if request.inputs.get("connectionLimit") not in (None, ""):
            options.append(sql.SQL("CONNECTION LIMIT {}").format(
                sql.Literal(int(request.inputs["connectionLimit"]))))
        if request.inputs.get("password"):
            options.append(sql.SQL("PASSWORD {}").format(sql.Literal(request.inputs["password"])))
        if request.inputs.get("validUntil") not in (None, "", "infinity"):
            options.append(sql.SQL("VALID UNTIL {}").format(
                sql.Literal(request.inputs["validUntil"])))
        statements = [sql.SQL("CREATE ROLE {} {}").format(
            _ident(name), sql.SQL(" ").join(options) if options else sql.SQL(""))]
        for member_of in request.inputs.get("roles") or []:
            statements.append(sql.SQL("GRANT {} TO {}").format(_ident(member_of), _ident(name)))
        if request.inputs.get("searchPaths"):
            statements.append(sql.SQL("ALTER ROLE {} SET search_path TO {}").format(
                _ident(name), sql.SQL(", ").join(_ident(p) for p in request.inputs["searchPaths"])))
        _run(settings, None, *statements, what=f"postgresql Role {name!r}")
        return Created(name, {"name": name}, _data(
            request, name=name,
            skipReassignOwned=truthy(request.inputs.get("skipReassignOwned", False)),
            skipDropRole=truthy(request.inputs.get("skipDropRole", False))))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        from psycopg2 import sql

        settings = self._settings(ctx, entry)
        name = entry.data.get("name") or entry.id
        role = _ident(name)
        statements: list[Any] = []
        if not entry.data.get("skipReassignOwned"):
            if not truthy(settings.get("superuser", True)):
                statements.append(sql.SQL("GRANT {} TO CURRENT_USER").format(role))
            statements += [sql.SQL("REASSIGN OWNED BY {} TO CURRENT_USER").format(role),
                           sql.SQL("DROP OWNED BY {}").format(role)]
        if not entry.data.get("skipDropRole"):
            statements.append(sql.SQL("DROP ROLE IF EXISTS {}").format(role))
        _run(settings, None, *statements, what=f"postgresql Role {name!r} delete")


@handles("postgresql:index/grantRole:GrantRole")
class GrantRole(_Sql):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        from psycopg2 import sql

        role, granted = request.inputs["role"], request.inputs["grantRole"]
        admin = sql.SQL(" WITH ADMIN OPTION") if truthy(
            request.inputs.get("withAdminOption", False)) else sql.SQL("")
        _run(self._settings(ctx, request), None,
             sql.SQL("GRANT {} TO {}{}").format(_ident(granted), _ident(role), admin),
             what=f"postgresql GrantRole {granted} to {role}")
        grant_id = f"{role}_{granted}"
        return Created(grant_id, {"withAdminOption": truthy(request.inputs.get("withAdminOption",
                                                                               False))},
                       _data(request, role=role, grantRole=granted))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        from psycopg2 import sql

        _run(self._settings(ctx, entry), None, sql.SQL("REVOKE {} FROM {}").format(
            _ident(entry.data["grantRole"]), _ident(entry.data["role"])),
            what=f"postgresql GrantRole {entry.data['grantRole']} delete")


def _grant_target(object_type: str, database: str, schema: str | None,
                  objects: list[str]) -> Any:
    from psycopg2 import sql

    if object_type == "database":
        return sql.SQL("DATABASE {}").format(_ident(database))
    if object_type == "schema":
        return sql.SQL("SCHEMA {}").format(_ident(schema or "public"))
    if object_type in _OBJECT_KINDS:
        if objects:
            kind = sql.SQL(_OBJECT_KINDS[object_type][:-1])
            return sql.SQL("{} {}").format(kind, sql.SQL(", ").join(
                sql.Identifier(schema or "public", item) for item in objects))
        return sql.SQL("ALL {} IN SCHEMA {}").format(sql.SQL(_OBJECT_KINDS[object_type]),
                                                     _ident(schema or "public"))
    raise EngineError(f"postgresql Grant: objectType {object_type!r} is not supported locally "
                      f"(database, schema, {', '.join(_OBJECT_KINDS)})")


@handles("postgresql:index/grant:Grant")
class Grant(_Sql):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        from psycopg2 import sql

        inputs = request.inputs
        database, role = inputs["database"], inputs["role"]
        object_type = inputs["objectType"]
        target = _grant_target(object_type, database, inputs.get("schema"),
                               list(inputs.get("objects") or []))
        statements = [sql.SQL("REVOKE ALL PRIVILEGES ON {} FROM {}").format(target,
                                                                            _grantee(role))]
        privileges = list(inputs.get("privileges") or [])
        if privileges:
            option = sql.SQL(" WITH GRANT OPTION") if truthy(
                inputs.get("withGrantOption", False)) else sql.SQL("")
            statements.append(sql.SQL("GRANT {} ON {} TO {}{}").format(
                _privileges(privileges), target, _grantee(role), option))
        connect_to = None if object_type == "database" else database
        _run(self._settings(ctx, request), connect_to, *statements,
             what=f"postgresql Grant {request.name!r}", act_as=_owners(role))
        parts = [role, database, inputs.get("schema"), object_type]
        grant_id = "_".join(str(part) for part in parts if part)
        return Created(grant_id, {"withGrantOption": truthy(inputs.get("withGrantOption",
                                                                       False))},
                       _data(request, role=role, database=database, schema=inputs.get("schema"),
                             objectType=object_type, objects=list(inputs.get("objects") or [])))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        from psycopg2 import sql

        data = entry.data
        target = _grant_target(data["objectType"], data["database"], data.get("schema"),
                               data.get("objects") or [])
        connect_to = None if data["objectType"] == "database" else data["database"]
        _run(self._settings(ctx, entry), connect_to,
             sql.SQL("REVOKE ALL PRIVILEGES ON {} FROM {}").format(target, _grantee(data["role"])),
             what=f"postgresql Grant {entry.name!r} delete", act_as=_owners(data["role"]))


@handles("postgresql:index/defaultPrivileges:DefaultPrivileges")
class DefaultPrivileges(_Sql):
    @staticmethod
    def _clause(owner: str, schema: str | None) -> Any:
        from psycopg2 import sql

        clause = sql.SQL("ALTER DEFAULT PRIVILEGES FOR ROLE {}").format(_ident(owner))
        if schema:
            clause = sql.SQL("{} IN SCHEMA {}").format(clause, _ident(schema))
        return clause

    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        from psycopg2 import sql

        inputs = request.inputs
        object_type = inputs["objectType"]
        if object_type not in _DEFAULT_KINDS:
            raise EngineError(f"postgresql DefaultPrivileges {request.name!r}: objectType "
                              f"{object_type!r} is not supported")
        kind = sql.SQL(_DEFAULT_KINDS[object_type])
        clause = self._clause(inputs["owner"], inputs.get("schema"))
        statements = [sql.SQL("{} REVOKE ALL ON {} FROM {}").format(clause, kind,
                                                                    _grantee(inputs["role"]))]
        privileges = list(inputs.get("privileges") or [])
        if privileges:
            option = sql.SQL(" WITH GRANT OPTION") if truthy(
                inputs.get("withGrantOption", False)) else sql.SQL("")
            statements.append(sql.SQL("{} GRANT {} ON {} TO {}{}").format(
                clause, _privileges(privileges), kind, _grantee(inputs["role"]), option))
        _run(self._settings(ctx, request), inputs["database"], *statements,
             what=f"postgresql DefaultPrivileges {request.name!r}", act_as=(inputs["owner"],))
        parts = [inputs["role"], inputs["database"], inputs.get("schema"), inputs["owner"],
                 object_type]
        return Created("_".join(str(part) for part in parts if part),
                       {"withGrantOption": truthy(inputs.get("withGrantOption", False))},
                       _data(request, role=inputs["role"], database=inputs["database"],
                             schema=inputs.get("schema"), owner=inputs["owner"],
                             objectType=object_type))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        from psycopg2 import sql

        data = entry.data
        _run(self._settings(ctx, entry), data["database"],
             sql.SQL("{} REVOKE ALL ON {} FROM {}").format(
                 self._clause(data["owner"], data.get("schema")),
                 sql.SQL(_DEFAULT_KINDS[data["objectType"]]), _grantee(data["role"])),
             what=f"postgresql DefaultPrivileges {entry.name!r} delete", act_as=(data["owner"],))


@handles("postgresql:index/schema:Schema")
class Schema(_Sql):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        from psycopg2 import sql

        name = request.inputs.get("name") or request.name
        database = request.inputs.get("database")
        statement = sql.SQL("CREATE SCHEMA {}{}").format(
            sql.SQL("IF NOT EXISTS ") if truthy(request.inputs.get("ifNotExists", True))
            else sql.SQL(""), _ident(name))
        if request.inputs.get("owner"):
            statement = sql.SQL("{} AUTHORIZATION {}").format(statement,
                                                              _ident(request.inputs["owner"]))
        _run(self._settings(ctx, request), database, statement,
             what=f"postgresql Schema {name!r}")
        return Created(f"{database or ''}.{name}".lstrip("."), {"name": name},
                       _data(request, name=name, database=database,
                             cascade=truthy(request.inputs.get("dropCascade", False))))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        from psycopg2 import sql

        _run(self._settings(ctx, entry), entry.data.get("database"),
             sql.SQL("DROP SCHEMA IF EXISTS {}{}").format(
                 _ident(entry.data["name"]),
                 sql.SQL(" CASCADE") if entry.data.get("cascade") else sql.SQL("")),
             what=f"postgresql Schema {entry.data['name']!r} delete")


@handles("postgresql:index/database:Database")
class Database(_Sql):
    def create(self, ctx: EngineContext, request: CreateRequest) -> Created:
        from psycopg2 import sql

        name = request.inputs.get("name") or request.name
        statement = sql.SQL("CREATE DATABASE {}").format(_ident(name))
        if request.inputs.get("owner"):
            statement = sql.SQL("{} OWNER {}").format(statement, _ident(request.inputs["owner"]))
        _run(self._settings(ctx, request), None, statement, what=f"postgresql Database {name!r}")
        return Created(name, {"name": name}, _data(request, name=name))

    def delete(self, ctx: EngineContext, entry: ResourceEntry) -> None:
        from psycopg2 import sql

        _run(self._settings(ctx, entry), None,
             sql.SQL("DROP DATABASE IF EXISTS {}").format(_ident(entry.data["name"])),
             what=f"postgresql Database {entry.data['name']!r} delete")
