"""``load_stack_config(unset_secrets=...)``: a required secret nobody set gets a placeholder, kept
secret and named; one the stack file or an override sets keeps its value."""

from __future__ import annotations

import pytest

from pgiam.program.loader import PLACEHOLDER_SECRET, load_project, load_stack_config

pytestmark = pytest.mark.unit


@pytest.fixture
def project(tmp_path):
    (tmp_path / "Pulumi.yaml").write_text(
        "name: shop\nruntime: python\nconfig:\n  shop:dbPassword:\n    type: string\n"
        "    secret: true\n")
    (tmp_path / "__main__.py").write_text("")
    return load_project(tmp_path)


def test_an_unset_required_secret_gets_a_named_secret_placeholder(project):
    config = load_stack_config(project, "dev", unset_secrets=["shop:dbPassword", "apiKey"])
    assert config.values["shop:dbPassword"] == PLACEHOLDER_SECRET
    assert config.values["shop:apiKey"] == PLACEHOLDER_SECRET
    assert {"shop:dbPassword", "shop:apiKey"} <= config.secret_keys
    assert config.placeholder_secrets == ("shop:dbPassword", "shop:apiKey")


def test_a_secret_given_keeps_its_value_and_is_no_placeholder(project):
    config = load_stack_config(project, "dev", {"dbPassword": "given"},
                               unset_secrets=["shop:dbPassword"])
    assert config.values["shop:dbPassword"] == "given"
    assert config.placeholder_secrets == ()


def test_without_unset_secrets_a_missing_declared_secret_is_still_an_error(project):
    with pytest.raises(Exception, match="missing configuration value 'shop:dbPassword'"):
        load_stack_config(project, "dev")
