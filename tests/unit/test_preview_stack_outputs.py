"""``--stack-output STACK:KEY=VALUE``: the values a pulumi.StackReference reads offline."""

from __future__ import annotations

import pytest

from pgiam.preview.offline_mocks import StackOutputError, parse_stack_outputs

pytestmark = pytest.mark.unit


def test_values_are_json_when_they_parse_and_text_otherwise() -> None:
    assert parse_stack_outputs(["acme/net/prod:vpcId=vpc-0abc", "acme/net/prod:azs=[\"a\",\"b\"]",
                                "acme/net/prod:size=3", "other/x/y:url=https://a:b"]) == {
        "acme/net/prod": {"vpcId": "vpc-0abc", "azs": ["a", "b"], "size": 3},
        "other/x/y": {"url": "https://a:b"}}


@pytest.mark.parametrize("item", ["nocolon", "acme/net/prod:novalue", ":k=v", "acme/net/prod:=v"])
def test_anything_else_is_refused_naming_the_form(item: str) -> None:
    with pytest.raises(StackOutputError, match="expected STACK:KEY=VALUE"):
        parse_stack_outputs([item])
