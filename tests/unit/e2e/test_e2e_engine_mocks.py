"""The local engine's Mocks: a type it does not know fails the deploy naming it; components
create nothing; after cancel nothing more is created."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from pgiam.e2e.engine.context import CloudInfo, EngineContext
from pgiam.e2e.engine.state import EngineState

pytestmark = pytest.mark.usefixtures("pulumi_sdk")

CLOUD = CloudInfo(region="us-east-1", account_id="123456789012",
                  endpoint_url="http://127.0.0.1:9", issuer="https://localhost:9/id/X",
                  ca_bundle="/nonexistent/ca.pem")


def _program(directory: Path, body: str) -> Path:
    directory.mkdir()
    (directory / "Pulumi.yaml").write_text("name: unit\nruntime: python\n")
    (directory / "__main__.py").write_text(textwrap.dedent(body))
    return directory


def _deploy(tmp_path: Path, body: str, cancel: bool = False):
    from pgiam.e2e.engine.mocks import EngineMocks
    from pgiam.program.loader import load_project, load_stack_config
    from pgiam.program.runner import run_program

    project = load_project(_program(tmp_path / "prog", body))
    config = load_stack_config(project, "e2e-unit")
    state = EngineState.create(tmp_path / "engine", "e2e-unit")
    ctx = EngineContext(stack="e2e-unit", project="unit", cloud=CLOUD, state=state,
                        root=tmp_path / "engine", config={},
                        mint_token=lambda *args: "token")
    mocks = EngineMocks(ctx)
    if cancel:
        mocks.cancel()
    return state, lambda: run_program(project, config, mocks, preview=False)


def test_an_unknown_resource_type_fails_the_deploy_naming_type_and_resource(tmp_path):
    from pgiam.program.runner import ProgramError

    state, deploy = _deploy(tmp_path, """
        import pulumi
        pulumi.CustomResource("acme:widgets/gadget:Gadget", "my-gadget", {"size": 3})
    """)
    with pytest.raises(ProgramError) as raised:
        deploy()
    assert "'acme:widgets/gadget:Gadget'" in str(raised.value)
    assert "'my-gadget'" in str(raised.value)
    assert state.resources() == []


def test_component_resources_create_nothing(tmp_path):
    state, deploy = _deploy(tmp_path, """
        import pulumi
        class Box(pulumi.ComponentResource):
            def __init__(self, name):
                super().__init__("unit:index:Box", name)
                self.register_outputs({"size": 1})
        Box("box")
        pulumi.export("ok", True)
    """)
    assert deploy().outputs == {"ok": True}
    assert state.is_empty()


def test_after_cancel_nothing_more_is_created(tmp_path):
    from pgiam.program.runner import ProgramError

    state, deploy = _deploy(tmp_path, """
        import pulumi
        pulumi.CustomResource("kubernetes:core/v1:Namespace", "ns", {"metadata": {"name": "x"}})
    """, cancel=True)
    with pytest.raises(ProgramError, match="deploy cancelled before 'ns'"):
        deploy()
    assert state.resources() == []
