"""The real sign-in of an agent: password, then the TOTP code, through allauth."""

import pytest
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
    yield_hotp_counters_from_time,
)

from conftest import STAFF_PASSWORD


def _current_code(secret):
    return format_hotp_value(hotp_value(secret, next(yield_hotp_counters_from_time())))


def test_password_then_totp_opens_the_back_office(client, commune, editor):
    secret = generate_totp_secret()
    TOTP.activate(editor, secret)

    response = client.post("/compte/login/", {"login": editor.email, "password": STAFF_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/compte/2fa/authenticate/"
    # Not signed in yet: the back office still refuses.
    assert client.get("/gestion/").status_code == 302

    response = client.post("/compte/2fa/authenticate/", {"code": _current_code(secret)})
    assert response.status_code == 302
    assert client.get("/gestion/").status_code == 200


def test_a_wrong_code_keeps_the_door_shut(client, commune, editor):
    TOTP.activate(editor, generate_totp_secret())
    client.post("/compte/login/", {"login": editor.email, "password": STAFF_PASSWORD})
    response = client.post("/compte/2fa/authenticate/", {"code": "000000"})
    assert response.status_code == 200
    assert client.get("/gestion/").status_code == 302


@pytest.mark.django_db(transaction=True)
def test_enrolling_a_totp_counts_as_this_sessions_second_factor(client, commune, editor):
    """allauth announces the enrolment on commit: real commits here."""
    client.post("/compte/login/", {"login": editor.email, "password": STAFF_PASSWORD})
    # Signing in with the password counts as a fresh proof: no second prompt.
    page = client.get("/compte/2fa/totp/activate/")
    assert page.status_code == 200
    secret = page.context["form"].secret
    response = client.post("/compte/2fa/totp/activate/", {"code": _current_code(secret)})
    assert response.status_code == 302
    assert client.get("/gestion/").status_code == 200


def test_staff_passwords_are_hashed_with_argon2(editor):
    assert editor.password.startswith("argon2")


def test_a_recovery_code_works_once(client, commune, editor):
    from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes

    TOTP.activate(editor, generate_totp_secret())
    code = RecoveryCodes.activate(editor).get_unused_codes()[0]
    client.post("/compte/login/", {"login": editor.email, "password": STAFF_PASSWORD})
    client.post("/compte/2fa/authenticate/", {"code": code})
    assert client.get("/gestion/").status_code == 200

    client.post("/compte/logout/")
    client.post("/compte/login/", {"login": editor.email, "password": STAFF_PASSWORD})
    response = client.post("/compte/2fa/authenticate/", {"code": code})
    assert response.status_code == 200  # the form again: a used code is refused
    assert client.get("/gestion/").status_code == 302
