"""Browser fixtures: one headless Chromium for the package, a fresh context and
page per test, and a live server shared by a whole module.

Chromium is Debian's (``/usr/bin/chromium``), driven by Playwright from PyPI:
browsers are never downloaded (no ``playwright install``).
"""

import gc
import os
from pathlib import Path

import pytest
from django.core.cache import caches
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.db import connections
from django.test import override_settings

from beffroi.core.fragments import fragments
from beffroi.core.tenancy import hosts
from beffroi.site.tests.browser.pages import AXE_PATH, CHROMIUM, CHROMIUM_ARGS, WIDE, watch


def _is_test_database() -> bool:
    from django.db import connection

    test_name = (connection.settings_dict.get("TEST") or {}).get("NAME")
    name = str(connection.settings_dict["NAME"])
    return name == str(test_name) if test_name else name.startswith("test_")


@pytest.fixture(scope="package")
def _test_database(django_db_setup, django_db_blocker):
    """The test database, even when no selected test names ``db``.

    pytest-django creates it only if some collected test requests ``db`` or
    ``transactional_db`` or carries the ``django_db`` marker; the tests on
    ``module_live_server`` do none of these on purpose (no test transaction).
    """
    from django.db import DEFAULT_DB_ALIAS
    from django.test.utils import setup_databases, teardown_databases

    if _is_test_database():
        yield
        return
    with django_db_blocker.unblock():
        old_config = setup_databases(verbosity=0, interactive=False, aliases={DEFAULT_DB_ALIAS})
    yield
    with django_db_blocker.unblock():
        teardown_databases(old_config, verbosity=0)


@pytest.fixture(scope="package")
def browser(_test_database):
    """One Chromium for all the browser tests, stopped when they are done.

    Playwright's sync API keeps an asyncio loop "running" in the test thread
    while it is started, which Django takes for an async context and refuses
    database access from. Nothing else runs on that loop, so the check is
    switched off while the browser lives, and only then: package scope gives
    later tests of the same run an ordinary main thread back. The test
    database is set up before and torn down after, in the thread's own context.
    """
    from playwright.sync_api import sync_playwright

    for path, what in [(CHROMIUM, "Debian's chromium"), (AXE_PATH, "axe-core (npm ci)")]:
        if not Path(path).exists():
            # A failure, not a skip: `make test` installs both.
            pytest.fail(f"{what} is needed by the browser tests: {path} is missing (run `make test`)")
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()
    finally:
        # Django keeps its connections in context-local storage, and the test
        # thread's context is not the same while Playwright's loop runs: close
        # the connections opened meanwhile. The live servers' worker threads
        # leave theirs as garbage in reference cycles: collect it now. Either
        # would otherwise keep a session open on the test database, which
        # PostgreSQL then refuses to drop.
        connections.close_all()
        gc.collect()
        playwright.stop()
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def new_page(browser):
    """Factory: a page in a fresh browser context, watched for console errors,
    uncaught exceptions and CSP violations (see ``pages.watch``)."""
    contexts = []

    def make(base_url, *, storage_state=None, viewport=WIDE):
        context = browser.new_context(
            base_url=base_url,
            storage_state=storage_state,
            viewport=viewport,
            locale="fr-FR",
            timezone_id="Europe/Paris",
        )
        context.set_default_timeout(10_000)
        contexts.append(context)
        page = context.new_page()
        watch(page)
        return page

    yield make
    for context in contexts:
        context.close()


# --- A live server for a whole module ------------------------------------------


@pytest.fixture(scope="module")
def module_live_server(browser, django_db_blocker, tmp_path_factory):
    """The real ASGI server for all the tests of a module, over committed data.

    The root ``live_server_asgi`` is per test (``transactional_db``): forty
    page checks do not need forty databases. The module creates its data
    once (through the services) and the database is flushed at the end, as
    ``TransactionTestCase`` does after each test; the media files written
    meanwhile are removed. Tests that use this server must not open a test
    transaction (see ``_clear_default_cache`` below). It needs ``browser``
    first, so that its database work happens in the thread's Playwright-time
    context (see ``browser``).
    """
    from conftest import LiveServer

    assert _is_test_database(), "never flush a database that is not the test database"
    with django_db_blocker.unblock():
        media = override_settings(MEDIA_ROOT=str(tmp_path_factory.mktemp("media")))
        media.enable()
        caches["default"].clear()
        fragments.clear()
        hosts.clear()
        server = LiveServer().start()
        try:
            yield server
        finally:
            server.stop()
            _remove_media()
            call_command("flush", interactive=False, verbosity=0)
            caches["default"].clear()
            fragments.clear()
            hosts.clear()
            media.disable()


def _remove_media():
    from beffroi.info.models import Post

    for post in Post.objects.exclude(image=""):
        for name in [post.image.name, *post.image_renditions.values()]:
            default_storage.delete(name)


@pytest.fixture(autouse=True)
def _isolated_state():
    """Overrides the root fixture of the same name: the media folder is the
    module's (see ``module_live_server``); the per-process caches still start
    empty, as derived data they only cost a re-render."""
    fragments.clear()
    hosts.clear()
    yield


@pytest.fixture(autouse=True)
def _clear_default_cache(request):
    """Overrides the root fixture of the same name.

    On the module's server, the data is already committed and the server
    writes sessions: a test transaction (``db``) would hold SQLite's write
    lock for the whole test. Elsewhere, as at the root.
    """
    if "module_live_server" not in request.fixturenames:
        request.getfixturevalue("db")
    caches["default"].clear()
