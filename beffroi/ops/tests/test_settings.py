"""The operations settings refuse what would weaken them, at start-up."""

import secrets

import pytest

from beffroi.core.tests.test_deploy import assert_clean, check_deploy, production_environment


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [("METRICS_TOKEN", "court", "32 caractères au moins"), ("LOG_FORMAT", "xml", "LOG_FORMAT")],
)
def test_a_weak_token_or_an_unknown_log_format_stops_the_start(tmp_path, name, value, message):
    result = check_deploy({**production_environment(tmp_path), name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_a_long_token_and_json_logs_pass(tmp_path):
    environment = {**production_environment(tmp_path), "METRICS_TOKEN": secrets.token_urlsafe(32), "LOG_FORMAT": "json"}
    assert_clean(check_deploy(environment))
