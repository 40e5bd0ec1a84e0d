"""pgiam for a team's own tests: a pytest plugin (``pytest11`` entry point ``pgiam``) and the
helpers behind its fixtures. docs/testing-plugin.md lists every name.

* :func:`run_pulumi_program` / fixture ``pgiam_program``: a Pulumi Python project run under
  Pulumi's mock runtime with realistic computed values (ARNs, ``cluster-...`` resource ids,
  endpoints, OIDC issuers), as a :class:`StackUnderTest`.
* :class:`StackUnderTest`: the resources it registered, and IAM questions answered by pgiam's
  IAM engine on the documents it registered: who may assume a role, what a role may do.
* fixture ``pgiam_localcloud``: a running local cloud for the session.
* :func:`iam_db_login` / fixture ``pgiam_db_login``: an IAM-token login over verified TLS.
"""

from pgiam.testing.database import iam_db_login
from pgiam.testing.program import UNKNOWN, NotInStack, StackUnderTest, run_pulumi_program

__all__ = ["UNKNOWN", "NotInStack", "StackUnderTest", "iam_db_login", "run_pulumi_program"]
