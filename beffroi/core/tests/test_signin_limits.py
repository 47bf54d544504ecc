"""Failed sign-ins: brute force is bounded, and nobody can lock the owner out.

Attacks go through the real sign-in page (allauth's view and our adapter);
the counts over a whole day call the same ``begin`` the adapter calls, with a
controlled clock, retrying the moment a wait ends (the attacker's best).
"""

import itertools
from datetime import timedelta

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.core import signing
from django.db import connection
from django.test import Client, RequestFactory
from django_tasks_db.models import DBTaskResult

from beffroi.core import signin_limits
from beffroi.core.signin_limits import TooManyFailures
from beffroi.core.signin_notice import send_signin_notice
from beffroi.core.tests.test_login import _current_code
from conftest import STAFF_PASSWORD, make_staff

LOGIN = "/compte/login/"
OFFICE = "192.0.2.10"
REFUSED = "Trop d’échecs de connexion"


def attempt(client, login, password, address):
    return client.post(LOGIN, {"login": login, "password": password}, REMOTE_ADDR=address)


def refused(response) -> bool:
    return REFUSED in response.content.decode()


def sign_in_completely(client, user, secret, address=OFFICE):
    assert attempt(client, user.email, STAFF_PASSWORD, address)["Location"] == "/compte/2fa/authenticate/"
    assert client.post("/compte/2fa/authenticate/", {"code": _current_code(secret)}, REMOTE_ADDR=address).status_code == 302
    cookie = client.cookies["beffroi_device"]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["max-age"] == 365 * 86400
    client.post("/compte/logout/")


def test_attackers_cannot_lock_the_owner_out(client, commune, editor, settings):
    # Small limits: each attempt that reaches the password costs an Argon2 hash.
    settings.SIGNIN_FAILURES_PER_CLIENT = (4, 3600)
    settings.SIGNIN_FAILURES_PER_ACCOUNT = (6, 86400)
    secret = generate_totp_secret()
    TOTP.activate(editor, secret)
    sign_in_completely(client, editor, secret)  # the owner's usual browser, once

    # A script behind the office's own address sprays other logins until the
    # address is stopped; scripts from other networks wear the account down.
    for n in range(6):
        attempt(Client(), f"agent-{n}@example.org", "essai", OFFICE)
    assert refused(attempt(Client(), editor.email, STAFF_PASSWORD, OFFICE))
    for n in range(10):
        attempt(Client(), editor.email, f"essai-{n}", f"2001:db8:{n:x}::1")

    # A browser the account never signed in from is stopped, right password or not…
    stranger = attempt(Client(), editor.email, STAFF_PASSWORD, "198.51.100.7")
    assert refused(stranger) and "_auth_user_id" not in stranger.wsgi_request.session
    # …but the owner, from their browser at the office, goes on to the second factor.
    response = attempt(client, editor.email, STAFF_PASSWORD, OFFICE)
    assert response.status_code == 302 and response["Location"] == "/compte/2fa/authenticate/"


def test_failures_from_one_client_delay_that_client_only(client, commune, editor, clock):
    for _ in range(4):
        assert not refused(attempt(client, editor.email, "faux-mot-de-passe", OFFICE))
    # Even the right password waits: the fourth failure costs a minute.
    response = attempt(client, editor.email, STAFF_PASSWORD, OFFICE)
    assert refused(response) and "réessayez dans une minute" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # Somebody else, elsewhere, is not delayed.
    assert attempt(Client(), editor.email, STAFF_PASSWORD, "198.51.100.7").status_code == 302
    clock.advance(minutes=1)
    assert attempt(client, editor.email, STAFF_PASSWORD, OFFICE).status_code == 302


def _request(address, device=None):
    cookies = {"beffroi_device": device} if device else {}
    request = RequestFactory().post(LOGIN, REMOTE_ADDR=address)
    request.COOKIES.update(cookies)
    return request


def test_each_failure_doubles_the_wait_up_to_an_hour(db, editor, clock):
    credentials = {"email": editor.email, "username": editor.email}
    attempts = []
    for _ in range(12):
        try:
            signin_limits.begin(_request(OFFICE), credentials).failed()
        except TooManyFailures as refused:
            attempts.append(int(refused.wait.total_seconds()))
            clock.advance(seconds=refused.wait.total_seconds())
            signin_limits.begin(_request(OFFICE), credentials).failed()
        else:
            attempts.append(0)
    assert attempts == [0, 0, 0, 0, 60, 120, 240, 480, 960, 1920, 3600, 3600]


def _attempts_reaching_the_password_check(clock, logins, addresses, hours=24):
    """An attacker who retries the moment each wait ends, for ``hours``."""
    end = clock.now + timedelta(hours=hours)
    reached = 0
    while clock.now < end:
        login = next(logins)
        try:
            attempt = signin_limits.begin(_request(next(addresses)), {"email": login, "username": login})
        except TooManyFailures as refused:
            clock.advance(seconds=max(1, refused.wait.total_seconds()))
        else:
            reached += 1
            attempt.failed()
    return reached


def test_brute_force_from_one_address_is_bounded(db, editor, clock):
    # 4 at once, then 60 s, 120 s … 1,920 s apart, then one an hour: 32 in a day.
    assert _attempts_reaching_the_password_check(clock, itertools.repeat(editor.email), itertools.repeat(OFFICE)) == 32


def test_brute_force_from_many_addresses_is_bounded(db, editor, clock):
    addresses = (f"2001:db8:{n:x}::1" for n in itertools.count())
    assert _attempts_reaching_the_password_check(clock, itertools.repeat(editor.email), addresses) == 50


def test_password_spraying_from_one_address_is_bounded(db, clock):
    logins = (f"agent-{n}@example.org" for n in itertools.count())
    assert _attempts_reaching_the_password_check(clock, logins, itertools.repeat(OFFICE)) == 30 * 24


def test_unknown_logins_are_treated_like_accounts(db, editor, clock):
    """The answers do not tell whether an account exists."""
    addresses = [f"198.51.100.{n}" for n in range(60)]

    def refusals(login):
        answers = []
        for address in addresses:
            try:
                signin_limits.begin(_request(address), {"email": login, "username": login}).failed()
                answers.append(None)
            except TooManyFailures as refused:
                answers.append(refused.wait)
        return answers

    assert refusals(editor.email) == refusals("personne@example.org")


def test_a_device_cookie_counts_only_for_its_account_and_only_when_signed(db, commune, editor, clock):
    other = make_staff(commune)
    forged = signing.dumps({"d": "x", "u": [editor.pk]}, salt="another-salt")
    for_other = signing.dumps({"d": "x", "u": [other.pk]}, salt=signin_limits.DEVICE_SALT)
    credentials = {"email": editor.email, "username": editor.email}
    for n in range(50):
        signin_limits.begin(_request(f"2001:db8:{n:x}::1"), credentials).failed()
    for device in (None, forged, for_other):
        try:
            signin_limits.begin(_request("198.51.100.1", device), credentials)
        except TooManyFailures:
            continue
        raise AssertionError(f"{device} let an attempt through")  # pragma: no cover
    genuine = signing.dumps({"d": "x", "u": [other.pk, editor.pk]}, salt=signin_limits.DEVICE_SALT)
    signin_limits.begin(_request("198.51.100.1", genuine), credentials).succeeded()


def test_the_owner_is_told_once_a_day(client, commune, editor, clock, mailoutbox, settings):
    settings.SIGNIN_NOTICE_AFTER = 2

    def scripted_failures(count):
        for n in range(count):
            attempt(Client(), editor.email, "faux", f"198.51.100.{n}")

    notices = DBTaskResult.objects.filter(task_path=send_signin_notice.module_path)
    scripted_failures(1)
    assert not notices.exists()
    scripted_failures(3)
    assert notices.count() == 1
    assert send_signin_notice.func(*notices.get().args_kwargs["args"]) == 1
    (mail,) = mailoutbox
    assert mail.to == [editor.email] and mail.subject == "Tentatives de connexion à votre compte"
    assert "2 tentatives de connexion à votre compte ont échoué" in mail.body
    assert "198.51.100" not in mail.body
    # The next day, new failures: a new notice.
    clock.advance(days=1)
    scripted_failures(2)
    assert notices.count() == 2


def test_a_password_reset_by_e_mail_reopens_unknown_browsers(client, commune, editor, settings):
    settings.SIGNIN_FAILURES_PER_ACCOUNT = (3, 86400)
    EmailAddress.objects.create(user=editor, email=editor.email, verified=True, primary=True)
    for n in range(3):
        attempt(Client(), editor.email, f"essai-{n}", f"2001:db8:{n:x}::1")
    assert refused(attempt(Client(), editor.email, STAFF_PASSWORD, "198.51.100.7"))

    key = default_token_generator.make_token(editor)
    page = client.get(f"/compte/password/reset/key/{user_pk_to_url_str(editor)}-{key}/", follow=True)
    new_password = "un-autre-mot-de-passe-bien-long"
    client.post(page.redirect_chain[-1][0], {"password1": new_password, "password2": new_password})
    assert attempt(Client(), editor.email, new_password, "198.51.100.7").status_code == 302


def _stored_text():
    with connection.cursor() as cursor:
        for table in connection.introspection.table_names(cursor):
            cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
            for row in cursor.fetchall():
                yield table, " ".join(str(bytes(v) if isinstance(v, memoryview) else v) for v in row)


def test_sign_in_counters_keep_no_address(client, commune, editor):
    for address in ("203.0.113.77", "2001:db8:77:77::77"):
        attempt(Client(), editor.email, "faux", address)
        attempt(Client(), editor.email, STAFF_PASSWORD, address)  # allauth's own "login" limit counts this one
    for table, text in _stored_text():
        for witness in ("203.0.113.77", "2001:db8:77"):
            assert witness not in text, f"{witness} stored in {table}"
