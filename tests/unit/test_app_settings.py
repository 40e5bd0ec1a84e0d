"""Settings from the pod environment: every missing or invalid value names its variable."""

from __future__ import annotations

import pytest
from hypothesis import given, settings as hsettings, strategies as st

from app import settings as settings_module
from app.settings import SettingsError, load_settings

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


@pytest.fixture
def ca_bundle(tmp_path):
    path = tmp_path / "ca.pem"
    path.write_text(PEM)
    return path


@pytest.fixture
def pod_env(ca_bundle):
    return {
        "DB_HOST": "demo.cluster-abc123.us-east-1.rds.amazonaws.com",
        "DB_PORT": "5432",
        "DB_NAME": "appdb",
        "DB_USER": "app_user",
        "AWS_REGION": "us-east-1",
        "PGSSLMODE": "verify-full",
        "PGSSLROOTCERT": str(ca_bundle),
    }


def test_pod_environment_is_read_as_given(pod_env, ca_bundle):
    s = load_settings(pod_env)
    assert (s.db_host, s.db_port, s.db_name, s.db_user) == (
        "demo.cluster-abc123.us-east-1.rds.amazonaws.com", 5432, "appdb", "app_user")
    assert (s.region, s.sslmode, s.sslrootcert, s.port) == ("us-east-1", "verify-full", str(ca_bundle), 8080)
    assert s.tls_warning is None


def test_defaults_are_verify_full_port_8080_and_db_port_5432(pod_env):
    del pod_env["PGSSLMODE"], pod_env["DB_PORT"]
    s = load_settings(pod_env)
    assert (s.sslmode, s.port, s.db_port) == ("verify-full", 8080, 5432)


@pytest.mark.parametrize("name", ["DB_HOST", "DB_NAME", "DB_USER", "AWS_REGION"])
@pytest.mark.parametrize("absent", [None, "", "   "])
def test_a_missing_required_setting_is_named(pod_env, name, absent):
    if absent is None:
        del pod_env[name]
    else:
        pod_env[name] = absent
    with pytest.raises(SettingsError) as info:
        load_settings(pod_env)
    assert info.value.name == name
    assert str(info.value).startswith(f"{name}: ")


def test_aws_default_region_stands_in_for_aws_region(pod_env):
    del pod_env["AWS_REGION"]
    pod_env["AWS_DEFAULT_REGION"] = "eu-west-3"
    assert load_settings(pod_env).region == "eu-west-3"


@pytest.mark.parametrize("name", ["DB_PORT", "PORT"])
@pytest.mark.parametrize("value", ["0", "65536", "abc", "-1", "5432x", "²", "١٢", "1e3", "99999999999"])
def test_a_port_that_is_not_1_to_65535_is_refused(pod_env, name, value):
    pod_env[name] = value
    with pytest.raises(SettingsError) as info:
        load_settings(pod_env)
    assert info.value.name == name


@pytest.mark.parametrize("host", ["https://db.example.com", "db.example.com:5432", "db.example.com/appdb",
                                  "db example.com", "-db.example.com", "db_.example.com"])
def test_db_host_must_be_a_bare_host_name(pod_env, host):
    pod_env["DB_HOST"] = host
    with pytest.raises(SettingsError) as info:
        load_settings(pod_env)
    assert info.value.name == "DB_HOST"


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "db.local."])
def test_db_host_accepts_addresses_and_short_names(pod_env, host):
    pod_env["DB_HOST"] = host
    assert load_settings(pod_env).db_host == host


@pytest.mark.parametrize("name,value", [("DB_USER", "app user"), ("DB_USER", "1user"), ("DB_USER", 'x";drop'),
                                        ("DB_NAME", "a" * 64), ("DB_NAME", "app-db")])
def test_postgres_names_are_validated(pod_env, name, value):
    pod_env[name] = value
    with pytest.raises(SettingsError) as info:
        load_settings(pod_env)
    assert info.value.name == name


@pytest.mark.parametrize("region", ["useast1", "us-east", "US-EAST-1", "us-east-1a"])
def test_a_malformed_region_is_refused(pod_env, region):
    pod_env["AWS_REGION"] = region
    with pytest.raises(SettingsError, match="^AWS_REGION: "):
        load_settings(pod_env)


@pytest.mark.parametrize("region", ["us-gov-west-1", "cn-north-1", "ap-southeast-3", "il-central-1"])
def test_real_region_names_are_accepted(pod_env, region):
    pod_env["AWS_REGION"] = region
    assert load_settings(pod_env).region == region


@pytest.mark.parametrize("mode", ["disable", "allow", "prefer"])
def test_modes_that_can_send_the_token_in_clear_are_refused(pod_env, mode):
    pod_env["PGSSLMODE"] = mode
    with pytest.raises(SettingsError, match="^PGSSLMODE: .*without TLS"):
        load_settings(pod_env)


def test_an_unknown_sslmode_is_refused(pod_env):
    pod_env["PGSSLMODE"] = "verify_full"
    with pytest.raises(SettingsError, match="^PGSSLMODE: unknown mode"):
        load_settings(pod_env)


@pytest.mark.parametrize("mode,words", [("require", "does not verify the server"),
                                        ("verify-ca", "host name")])
def test_weaker_verification_is_accepted_with_a_warning(pod_env, mode, words):
    pod_env["PGSSLMODE"] = mode
    warning = load_settings(pod_env).tls_warning
    assert warning and words in warning and "verify-full" in warning


def test_require_needs_no_ca_bundle(pod_env):
    pod_env["PGSSLMODE"] = "require"
    del pod_env["PGSSLROOTCERT"]
    assert load_settings(pod_env).sslrootcert is None


def test_a_missing_ca_bundle_file_is_named(pod_env, tmp_path):
    pod_env["PGSSLROOTCERT"] = str(tmp_path / "nope.pem")
    with pytest.raises(SettingsError, match="^PGSSLROOTCERT: CA bundle .*nope.pem' does not exist"):
        load_settings(pod_env)


def test_a_ca_bundle_without_certificates_is_refused(pod_env, tmp_path):
    (tmp_path / "empty.pem").write_text("not a certificate\n")
    pod_env["PGSSLROOTCERT"] = str(tmp_path / "empty.pem")
    with pytest.raises(SettingsError, match="holds no PEM certificate"):
        load_settings(pod_env)


def test_a_directory_is_not_a_ca_bundle(pod_env, tmp_path):
    pod_env["PGSSLROOTCERT"] = str(tmp_path)
    with pytest.raises(SettingsError, match="^PGSSLROOTCERT: .*cannot be read"):
        load_settings(pod_env)


def test_without_pgsslrootcert_the_image_bundle_is_used(pod_env, ca_bundle, monkeypatch):
    del pod_env["PGSSLROOTCERT"]
    monkeypatch.setattr(settings_module, "DEFAULT_CA_BUNDLE", str(ca_bundle))
    assert load_settings(pod_env).sslrootcert == str(ca_bundle)


def test_without_pgsslrootcert_or_image_bundle_the_error_says_so(pod_env, tmp_path, monkeypatch):
    del pod_env["PGSSLROOTCERT"]
    monkeypatch.setattr(settings_module, "DEFAULT_CA_BUNDLE", str(tmp_path / "absent.pem"))
    with pytest.raises(SettingsError, match="PGSSLROOTCERT is not set"):
        load_settings(pod_env)


NAMES = ["DB_HOST", "DB_PORT", "DB_NAME", "DB_USER", "AWS_REGION", "PGSSLMODE", "PORT"]


@hsettings(max_examples=60, deadline=None)
@given(name=st.sampled_from(NAMES), value=st.text(max_size=30))
def test_any_value_gives_settings_or_an_error_naming_the_variable(name, value):
    env = {"DB_HOST": "db.example.com", "DB_NAME": "appdb", "DB_USER": "app_user",
           "AWS_REGION": "us-east-1", "PGSSLMODE": "require", name: value}
    try:
        load_settings(env)
    except SettingsError as exc:
        assert exc.name == name or (name == "PGSSLMODE" and exc.name == "PGSSLROOTCERT")
