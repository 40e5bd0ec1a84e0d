"""The local cloud's RDS side (issue #5): Aurora PostgreSQL clusters and PostgreSQL instances
served by real PostgreSQL servers that accept IAM authentication tokens exactly where RDS does.
See docs/localcloud-rds.md.

Modules: :mod:`.token` (the token check, pure), :mod:`.hba` (server configuration, pure),
:mod:`.model` (clusters and instances, pure), :mod:`.postgres` (server lifecycle), :mod:`.ldap`
(the simple-bind responder PostgreSQL asks), :mod:`.keys` (the token check's view of the local
IAM), :mod:`.gateway` (the RDS API handlers), :mod:`.extension` (the daemon extension).
"""

from __future__ import annotations

from typing import Any


def create_extension() -> Any:
    """The daemon's entry point (imported lazily: the pure modules stay light to import)."""
    from pgiam.localcloud.rds.extension import RdsExtension

    return RdsExtension()
