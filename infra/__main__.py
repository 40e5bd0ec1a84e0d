"""Pulumi program `iam-postgres`: passwordless PostgreSQL on AWS (Aurora + IAM auth + IRSA on EKS).

The stack is built by iampg.stack.build_stack; this file only reads the configuration and exports
the outputs (docs/infra.md).
"""

import pulumi

from iampg.config import load_settings
from iampg.stack import build_stack

for output_name, value in build_stack(load_settings()).items():
    pulumi.export(output_name, value)
