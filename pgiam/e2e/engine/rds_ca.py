"""The local CA in place of the RDS certificate bundle.

On AWS a client verifies an RDS endpoint against Amazon's bundle (``global-bundle.pem``,
``rds-combined-ca-bundle.pem``, ``<region>-bundle.pem``), baked into its image, given as
``sslrootcert``, or left to libpq's default ``~/.postgresql/root.crt``. The local cloud's
endpoints are signed by its own CA, so wherever a client of the stack (a pod, or the deployer's
PostgreSQL provider) expects the RDS bundle, the local CA stands in its place, as the RDS bundle
stands behind the real endpoints. A bundle the program made itself (a file that exists and is
not named like an RDS bundle) is left alone: it is the program's choice, right or wrong.
"""

from __future__ import annotations

import os
import re

# Amazon's published bundle names: global, the old combined one, per region, per CA.
_RDS_BUNDLE = re.compile(
    r"(?:^|/)(?:global-bundle|rds-global-bundle|rds-combined-ca-bundle|rds-ca-[\w-]+"
    r"|(?:[a-z]{2}(?:-gov|-iso[a-z]?)?-[a-z]+-\d+)-bundle)\.(?:pem|crt)$")
LIBPQ_DEFAULT_ROOT = ".postgresql/root.crt"


def names_rds_bundle(path: str | None) -> bool:
    """Whether ``path`` is one of Amazon's RDS CA bundles by its file name."""
    return bool(path) and _RDS_BUNDLE.search(str(path)) is not None


def deployer_root_cert(sslrootcert: str | None, sslmode: str | None, local_ca: str
                       ) -> str | None:
    """The ``sslrootcert`` the deployer's connection uses: the local CA where the program
    expects the RDS bundle (named like it, a file that is not there, or none with a verify
    mode), else what the program gave."""
    if not sslrootcert:
        return local_ca if (sslmode or "").startswith("verify-") else None
    if names_rds_bundle(sslrootcert) or not os.path.isfile(sslrootcert):
        return local_ca
    return sslrootcert
