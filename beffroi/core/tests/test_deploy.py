"""Production configuration: ``manage.py check --deploy`` is clean with
production settings, and deploy/beffroi.env.example documents exactly the
variables that the settings read.

The checks run in a subprocess with an environment built from scratch, as
systemd gives it to the units: nothing leaks in from the test run.
"""

import os
import re
import secrets
import subprocess
import sys

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django.conf import settings

from beffroi.core.journal_keys import new_key_item

BASE_DIR = settings.BASE_DIR
EXAMPLE = BASE_DIR / "deploy" / "beffroi.env.example"
# Read by the systemd unit, not by the settings.
UNIT_VARIABLES = {"WEB_WORKERS"}


def check_deploy(environment: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **environment}
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "check", "--deploy", "--fail-level", "WARNING"],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def write_secret(path, content: str):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def vapid_pem() -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def production_environment(tmp_path) -> dict[str, str]:
    return {
        "BEFFROI_VAR_DIR": str(tmp_path / "var"),
        "HTTPS": "1",
        "SECRET_KEY_FILE": str(write_secret(tmp_path / "secrets" / "secret_key", secrets.token_urlsafe(64))),
        "JOURNAL_KEYS_FILE": str(write_secret(tmp_path / "secrets" / "journal_keys", new_key_item("j1"))),
        "ALLOWED_HOSTS": "haisnes.fr,www.haisnes.fr,douvrin.fr",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'beffroi.sqlite3'}",
    }


def assert_clean(result: subprocess.CompletedProcess) -> None:
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in result.stdout, output
    assert "WARNING" not in output, output
    assert "security.W" not in output, output


def test_check_deploy_is_clean_with_production_settings(tmp_path):
    environment = production_environment(tmp_path)
    assert "DEBUG" not in environment
    assert_clean(check_deploy(environment))
    # The key came from SECRET_KEY_FILE: none was generated under the var dir.
    assert not (tmp_path / "var" / "secrets" / "secret_key").exists()


def test_check_deploy_is_clean_with_an_object_store_and_smtp(tmp_path):
    environment = {
        **production_environment(tmp_path),
        "S3_BUCKET": "beffroi-media",
        "S3_ENDPOINT_URL": "https://s3.example.net",
        "S3_ACCESS_KEY_ID": "beffroi",
        "S3_SECRET_ACCESS_KEY_FILE": str(write_secret(tmp_path / "secrets" / "s3", secrets.token_urlsafe(32))),
        "S3_CUSTOM_DOMAIN": "medias.example.fr",
        "EMAIL_HOST": "smtp.example.net",
        "EMAIL_HOST_PASSWORD_FILE": str(write_secret(tmp_path / "secrets" / "smtp", secrets.token_urlsafe(16))),
    }
    assert_clean(check_deploy(environment))


def test_check_deploy_fails_without_https(tmp_path):
    """The check above can fail: without HTTPS=1 it reports what is missing."""
    environment = production_environment(tmp_path)
    del environment["HTTPS"]
    result = check_deploy(environment)
    assert result.returncode != 0
    for code in ("security.W004", "security.W008", "security.W012", "security.W016"):
        assert code in result.stderr + result.stdout


def test_check_deploy_fails_with_debug(tmp_path):
    result = check_deploy({**production_environment(tmp_path), "DEBUG": "1"})
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout


def example_assignments() -> dict[str, str]:
    """The active (uncommented) NAME=value lines of the example file."""
    values = {}
    for line in EXAMPLE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        name, sep, value = line.partition("=")
        assert sep and re.fullmatch(r"[A-Z][A-Z0-9_]*", name), f"not a NAME=value line: {line!r}"
        assert not re.search(r"[$`]", value), f"no $ or backquote in values (sh and systemd): {line!r}"
        if " " in value or "<" in value:
            assert value.startswith('"') and value.endswith('"'), f"quote this value: {line!r}"
        values[name] = value.strip('"')
    return values


def test_the_example_env_file_passes_check_deploy(tmp_path):
    """The example, with its secret files and var dir moved under tmp_path."""
    environment = {}
    for name, value in example_assignments().items():
        if name.endswith("_FILE"):
            assert value.startswith("/etc/beffroi/secrets/"), f"{name}: secrets live in /etc/beffroi/secrets/"
            content = {
                "VAPID_PRIVATE_KEY_FILE": vapid_pem(),
                "JOURNAL_KEYS_FILE": new_key_item("j1"),
            }.get(name) or secrets.token_urlsafe(64)
            value = str(write_secret(tmp_path / "secrets" / value.rsplit("/", 1)[1], content))
        elif name == "BEFFROI_VAR_DIR":
            value = str(tmp_path / "var")
        environment[name] = value
    assert environment["HTTPS"] == "1"
    assert environment["DATABASE_URL"].startswith("postgres")
    assert "DEBUG" not in environment
    # No database connection is made by these checks: PostgreSQL need not run.
    assert_clean(check_deploy(environment))


def variables_read_by_settings() -> set[str]:
    source = (BASE_DIR / "beffroi" / "settings.py").read_text(encoding="utf-8")
    return set(re.findall(r"\benv(?:_bool|_int|_list)?\(\s*\"([A-Z][A-Z0-9_]*)\"", source))


def variables_in_example() -> set[str]:
    """Every NAME or NAME_FILE the example sets or shows commented out."""
    names = set(re.findall(r"^#?([A-Z][A-Z0-9_]*)=", EXAMPLE.read_text(encoding="utf-8"), flags=re.MULTILINE))
    return {name.removesuffix("_FILE") for name in names}


def test_the_example_env_file_lists_every_variable_the_settings_read():
    read = variables_read_by_settings()
    assert {"SECRET_KEY", "DATABASE_URL", "ALLOWED_HOSTS", "HTTPS", "BEFFROI_VAR_DIR"} <= read
    missing = read - variables_in_example()
    assert not missing, f"add to deploy/beffroi.env.example: {sorted(missing)}"


def test_the_example_env_file_lists_no_unknown_variable():
    unknown = variables_in_example() - variables_read_by_settings() - UNIT_VARIABLES
    assert not unknown, f"not read by beffroi/settings.py: {sorted(unknown)}"


@pytest.mark.parametrize(
    "name", ["SECRET_KEY", "MFA_ENCRYPTION_KEY", "VAPID_PRIVATE_KEY", "EMAIL_HOST_PASSWORD", "JOURNAL_KEYS"]
)
def test_secrets_are_read_from_files_in_the_example(name):
    values = example_assignments()
    assert f"{name}_FILE" in values
    assert name not in values


def test_check_deploy_warns_when_the_journal_key_would_be_generated_per_host(tmp_path):
    environment = production_environment(tmp_path)
    del environment["JOURNAL_KEYS_FILE"]
    result = check_deploy(environment)
    assert result.returncode != 0
    assert "beffroi.W001" in result.stderr + result.stdout


def test_the_example_never_sets_the_owner_url():
    """The web processes read the environment file: the owner's URL must
    reach beffroi-migrate only (systemd credential)."""
    assert not {"MIGRATE_DATABASE_URL", "MIGRATE_DATABASE_URL_FILE"} & example_assignments().keys()
    unit = (BASE_DIR / "deploy" / "systemd" / "beffroi-migrate.service").read_text(encoding="utf-8")
    assert "LoadCredential=owner_database_url:/etc/beffroi/owner/database_url" in unit
    assert "Environment=MIGRATE_DATABASE_URL_FILE=%d/owner_database_url" in unit
    for other in ("beffroi-web.service", "beffroi-worker.service"):
        assert "MIGRATE_DATABASE_URL" not in (BASE_DIR / "deploy" / "systemd" / other).read_text(encoding="utf-8")


def _manage(args: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8", **environment}
    return subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), *args], cwd=BASE_DIR, env=env, capture_output=True, text=True,
        timeout=300,
    )


def _tables(path) -> set[str]:
    import sqlite3

    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def test_migrations_use_the_owner_url_and_everything_else_the_runtime_url(tmp_path):
    runtime, owner = tmp_path / "runtime.sqlite3", tmp_path / "owner.sqlite3"
    environment = {
        "BEFFROI_VAR_DIR": str(tmp_path / "var"),
        "DATABASE_URL": f"sqlite:///{runtime}",
        "MIGRATE_DATABASE_URL": f"sqlite:///{owner}",
    }
    result = _manage(["migrate", "contenttypes", "--noinput"], environment)
    assert result.returncode == 0, result.stderr
    assert "django_content_type" in _tables(owner)
    result = _manage(["createcachetable"], environment)
    assert result.returncode == 0, result.stderr
    assert "beffroi_cache" in _tables(owner)
    assert not runtime.exists()
    # Any other command connects with DATABASE_URL: nothing was migrated there.
    result = _manage(["showmigrations", "contenttypes"], environment)
    assert result.returncode == 0, result.stderr
    assert "[ ] 0001_initial" in result.stdout
    assert "django_content_type" not in _tables(runtime)


def test_no_model_change_lacks_its_migration():
    from io import StringIO

    from django.core.management import call_command

    output = StringIO()
    try:
        call_command("makemigrations", "--check", "--dry-run", stdout=output, stderr=output)
    except SystemExit as exit_:
        raise AssertionError(f"a migration is missing:\n{output.getvalue()}") from exit_
