import pytest
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

from beffroi.core.models import Membership
from conftest import make_staff, sign_in_with_second_factor

BACKOFFICE_PAGES = [
    "/gestion/",
    "/gestion/publications/",
    "/gestion/publications/nouvelle/news/",
    "/gestion/themes/",
    "/gestion/quartiers/ajouter/",
    "/gestion/equipe/",
    "/gestion/journal/",
    "/gestion/commune/",
]


@pytest.mark.parametrize("path", BACKOFFICE_PAGES)
def test_anonymous_visitors_are_sent_to_the_login_page(client, commune, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/login/")


def test_a_password_alone_leads_to_enrolling_a_second_factor(client, commune, editor):
    client.force_login(editor)
    response = client.get("/gestion/")
    assert response.status_code == 302
    assert response["Location"] == "/compte/2fa/totp/activate/"


def test_a_session_without_the_second_factor_the_account_has_is_closed(client, commune, editor):
    TOTP.activate(editor, generate_totp_secret())
    client.force_login(editor)
    response = client.get("/gestion/")
    assert response.status_code == 302
    assert response["Location"].startswith("/compte/login/")
    assert "_auth_user_id" not in client.session


def test_recovery_codes_alone_do_not_count_as_enrolment(client, commune, editor):
    Authenticator.objects.create(user=editor, type=Authenticator.Type.RECOVERY_CODES, data={"seed": "00"})
    client.force_login(editor)
    assert client.get("/gestion/")["Location"] == "/compte/2fa/totp/activate/"


def test_staff_of_another_commune_is_refused(client, commune, other_commune):
    stranger = make_staff(other_commune, Membership.Role.ADMINISTRATOR)
    sign_in_with_second_factor(client, stranger)
    assert client.get("/gestion/").status_code == 403


def test_a_suspended_membership_is_refused(client, commune, editor):
    Membership.objects.filter(user=editor).update(is_active=False)
    sign_in_with_second_factor(client, editor)
    assert client.get("/gestion/").status_code == 403


@pytest.mark.parametrize(
    ("role", "path", "status"),
    [
        (Membership.Role.AGENT, "/gestion/", 200),
        (Membership.Role.AGENT, "/gestion/publications/nouvelle/news/", 403),
        (Membership.Role.EDITOR, "/gestion/publications/nouvelle/alert/", 200),
        (Membership.Role.EDITOR, "/gestion/equipe/", 403),
        (Membership.Role.EDITOR, "/gestion/journal/", 403),
        (Membership.Role.EDITOR, "/gestion/quartiers/", 403),
        (Membership.Role.ADMINISTRATOR, "/gestion/equipe/", 200),
        (Membership.Role.ADMINISTRATOR, "/gestion/journal/", 200),
        (Membership.Role.ADMINISTRATOR, "/gestion/commune/", 200),
    ],
)
def test_roles_decide_what_each_person_may_open(client, commune, role, path, status):
    sign_in_with_second_factor(client, make_staff(commune, role))
    assert client.get(path).status_code == status
