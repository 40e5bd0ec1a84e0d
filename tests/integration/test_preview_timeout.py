"""A program that never finishes under the mock runtime ends the preview with a clear error
(exit 2, naming the last resource registered) instead of hanging it; pulumi-eks's node groups
given their cluster (which once hung the preview: the mock monitor rehydrated the cluster
reference on a worker thread whose event loop nobody pumped) finish in both modes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
CLUSTER = ('import pulumi_aws as aws\nimport pulumi_eks as eks\n'
           'role = aws.iam.Role("r", assume_role_policy="{}")\n'
           'cluster = eks.Cluster("c", skip_default_node_group=True, instance_roles=[role])\n')
NODE_GROUPS = (
    'eks.NodeGroupV2("v2", cluster=cluster, instance_type="t3.medium", desired_capacity=1, '
    'min_size=1, max_size=2, instance_profile=aws.iam.InstanceProfile("p", role=role.name))\n'
    'eks.NodeGroup("v1", cluster=cluster.core, instance_type="t3.small", desired_capacity=1, '
    'min_size=1, max_size=2, instance_profile=aws.iam.InstanceProfile("p1", role=role.name))\n'
    'eks.ManagedNodeGroup("m", cluster=cluster, node_role=role, '
    'scaling_config={"desired_size": 1, "min_size": 1, "max_size": 2})\n')
# An output that never resolves: the stack waits for it for ever, as a program waiting on
# something the mock runtime cannot answer would.
NEVER = ('import asyncio\nimport pulumi\nimport pulumi_aws as aws\n'
         'aws.s3.Bucket("b")\n'
         'never = asyncio.get_event_loop().create_future()\n'
         'pulumi.export("never", pulumi.Output.from_input(never))\n')


def preview(program: Path, timeout: str, mode: str = "preview",
            *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "pgiam", "preview", "--program", str(program),
                           "--policy-pack", str(ROOT / "policies"), "--mode", mode,
                           "--timeout", timeout, *extra],
                          cwd=ROOT, capture_output=True, text=True, timeout=90)


def write(directory: Path, main: str) -> Path:
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: stuck\nruntime: python\n")
    (directory / "__main__.py").write_text(main)
    return directory


def test_a_program_that_never_finishes_ends_with_exit_2_naming_where(tmp_path: Path) -> None:
    result = preview(write(tmp_path / "stuck", NEVER), "5")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "did not finish within 5 s under the mock runtime" in result.stderr
    assert "aws:s3/bucket:Bucket 'b'" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("mode", ["preview", "up"])
def test_pulumi_eks_node_groups_given_their_cluster_finish(tmp_path: Path, mode: str) -> None:
    counts = {}
    for name, main in (("cluster", CLUSTER), ("groups", CLUSTER + NODE_GROUPS)):
        result = preview(write(tmp_path / name, main), "60", mode, "--json")
        assert result.returncode in (0, 1), result.stdout + result.stderr
        counts[name] = json.loads(result.stdout)["resources"]
    # the three node groups and the two instance profiles, each registered and analysed
    assert counts["groups"] - counts["cluster"] == 5, counts
