"""Fixtures shared by the whole suite."""

import os
import time

import pytest
from allauth.account.internal.flows.login import AUTHENTICATION_METHODS_SESSION_KEY
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command

from beffroi.core.fragments import fragments
from beffroi.core.models import Domain, Membership, Organisation, Sector, User
from beffroi.core.tenancy import hosts
from beffroi.info.models import Topic

STAFF_PASSWORD = "un-mot-de-passe-de-test-assez-long"

# Two checkouts testing against one PostgreSQL server each need their own test
# database (xdist then adds its worker suffix to this name).
if os.environ.get("DATABASE_TEST_NAME") and settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
    settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = os.environ["DATABASE_TEST_NAME"]


@pytest.fixture(scope="session", autouse=True)
def _static_files(tmp_path_factory):
    """Pages link hashed static files (manifest storage), as in production."""
    settings.STATIC_ROOT = tmp_path_factory.mktemp("static")
    call_command("collectstatic", interactive=False, verbosity=0)


@pytest.fixture(scope="session", autouse=True)
def _safe_keyring(tmp_path_factory):
    """The suite's own keyring: tests rotate and destroy keys, which must never
    touch the keyring of a demo installation sharing var/."""
    from beffroi.safe import keys
    from beffroi.safe.crypto import Keyring

    path = tmp_path_factory.mktemp("keys") / "safe-keyring.json"
    Keyring.create(path)
    settings.SAFE_KEYRING_PATH = path
    keys._keyring.cache_clear()
    yield path
    keys._keyring.cache_clear()


@pytest.fixture(autouse=True)
def _isolated_state(settings, tmp_path):
    """Per-process caches must not outlive a test's rolled-back data."""
    settings.MEDIA_ROOT = tmp_path / "media"
    private = {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": tmp_path / "private"}}
    settings.STORAGES = {**settings.STORAGES, "private": private}
    settings.JOURNAL_ANCHOR_PATH = tmp_path / "journal-anchors.jsonl"
    fragments.clear()
    hosts.clear()
    yield
    fragments.clear()
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


def subprocess_database_url() -> str:
    """DATABASE_URL that points another process at this test run's database."""
    from pathlib import Path

    from django.db import connection

    params = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{Path(params['NAME']).resolve()}"
    return f"postgres://{params['USER']}@{params['HOST']}:{params['PORT']}/{params['NAME']}"


class LiveServer:
    """The real ASGI application (edge, SSE, Django) under uvicorn, in a thread.

    Tests that use it need committed data (``transactional_db``): the server
    reads the database through its own connections.
    """

    def __init__(self):
        import socket

        probe = socket.socket()
        probe.bind(("127.0.0.1", 0))
        self.port = probe.getsockname()[1]
        probe.close()
        self.thread = None
        self.server = None
        self.app = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        import threading

        import uvicorn

        from beffroi.edge.boot import build_application

        self.app = build_application(freeze_gc=False)
        config = uvicorn.Config(
            self.app, host="127.0.0.1", port=self.port, lifespan="on", log_level="warning",
            access_log=False, loop="asyncio", http="h11", timeout_graceful_shutdown=1,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="live-server", daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("The live server did not start.")
            time.sleep(0.02)
        return self

    def wait_for_events(self, timeout=5.0):
        """Wait until the server's hub has read every committed event."""
        from beffroi.realtime.models import Event

        last = Event.objects.order_by("-id").values_list("id", flat=True).first() or 0
        deadline = time.monotonic() + timeout
        while self.app.hub.last_id < last:
            if time.monotonic() > deadline:
                raise AssertionError(f"hub at event {self.app.hub.last_id}, log at {last}")
            time.sleep(0.01)

    def stop(self):
        if self.server is not None:
            # Open streams are cut after the grace period, then the lifespan
            # shutdown closes the server's database connections.
            self.server.should_exit = True
            self.thread.join(timeout=15)
            from django.db import connections

            connections.close_all()
            self.server = None


@pytest.fixture
def live_server_asgi(transactional_db, commune):
    server = LiveServer().start()
    yield server
    server.stop()
