"""Fixtures shared by the whole suite."""

import time

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command

from beffroi.core.models import Domain, Membership, Organisation, Sector, User
from beffroi.core.tenancy import hosts
from beffroi.info.models import Topic

STAFF_PASSWORD = "un-mot-de-passe-de-test-assez-long"


@pytest.fixture(scope="session", autouse=True)
def _static_files(tmp_path_factory):
    """Pages link hashed static files (manifest storage), as in production."""
    settings.STATIC_ROOT = tmp_path_factory.mktemp("static")
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(autouse=True)
def _isolated_state(settings, tmp_path):
    """Per-process caches must not outlive a test's rolled-back data."""
    settings.MEDIA_ROOT = tmp_path / "media"
    caches["fragments"].clear()
    hosts.clear()
    yield
    caches["fragments"].clear()
    hosts.clear()


@pytest.fixture(autouse=True)
def _clear_default_cache(db):
    caches["default"].clear()


@pytest.fixture
def commune(db):
    commune = Organisation.objects.create(
        kind=Organisation.Kind.COMMUNE, name="Haisnes", slug="haisnes", brand_colour="#1d4f91", email="mairie@example.org"
    )
    Domain.objects.create(hostname="testserver", organisation=commune, is_primary=True)
    Domain.objects.create(hostname="127.0.0.1", organisation=commune)
    return commune


@pytest.fixture
def other_commune(db, settings):
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "douvrin.testserver"]
    commune = Organisation.objects.create(
        kind=Organisation.Kind.COMMUNE, name="Douvrin", slug="douvrin", brand_colour="#6b2c6e"
    )
    Domain.objects.create(hostname="douvrin.testserver", organisation=commune, is_primary=True)
    return commune


@pytest.fixture
def topic(commune):
    return Topic.objects.create(organisation=commune, name="Culture et loisirs", slug="culture")


@pytest.fixture
def sector(commune):
    ring = [[2.79, 50.50], [2.80, 50.50], [2.80, 50.51], [2.79, 50.51], [2.79, 50.50]]
    return Sector.objects.create(
        organisation=commune, name="Centre", slug="centre", area={"type": "Polygon", "coordinates": [ring]}
    )


def make_staff(organisation, role=Membership.Role.EDITOR, email=None):
    email = email or f"{role}-{organisation.slug}-{time.monotonic_ns()}@example.org"
    user = User.objects.create_user(
        username=email, email=email, password=STAFF_PASSWORD, first_name="Camille", last_name="Martin"
    )
    Membership.objects.create(user=user, organisation=organisation, role=role)
    return user


def sign_in_with_second_factor(client, user):
    """Open a session as allauth leaves it after password and TOTP.

    The whole flow (password, then TOTP code) is exercised for real in
    beffroi/core/tests/test_login.py; other tests start from its result.
    """
    client.force_login(user)
    session = client.session
    now = time.time()
    session[AUTHENTICATION_METHODS_SESSION_KEY] = [
        {"method": "password", "at": now, "username": user.username},
        {"method": "mfa", "at": now, "type": "totp"},
    ]
    session["account_authentication_methods_user"] = str(user.pk)
    session.save()
    return client


@pytest.fixture
def editor(commune):
    return make_staff(commune, Membership.Role.EDITOR)


@pytest.fixture
def administrator(commune):
    return make_staff(commune, Membership.Role.ADMINISTRATOR)


@pytest.fixture
def editor_client(client, editor):
    return sign_in_with_second_factor(client, editor)


@pytest.fixture
def admin_client(client, administrator):
    return sign_in_with_second_factor(client, administrator)
