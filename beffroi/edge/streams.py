"""The streams a page may follow (``/flux/…``), and who may follow them.

Each app declares its own with ``declare(path, resolver)`` in its
``AppConfig.ready()``, the way it declares its URLs: the edge knows no app.
A resolver takes the ASGI scope and answers the channels to follow, or
``(status, message)`` to refuse. Resolvers run on the event loop; what needs
the database runs in a thread (``in_thread``), with the helpers below.
"""

import asyncio
from collections.abc import Awaitable, Callable
from urllib.parse import parse_qs

from django.conf import settings
from django.db import close_old_connections
from django.http.cookie import parse_cookie

from beffroi.edge.hosts import commune_for
from beffroi.realtime import channels

Resolver = Callable[[dict], Awaitable[tuple]]
UNKNOWN_HOST = (404, "Aucune commune n’est servie à cette adresse.")
PREFIX = "/flux/"


async def public_feed(scope):
    """A commune's public channel: every public page follows it."""
    commune = await commune_for(scope)
    if commune is None:
        return UNKNOWN_HOST
    return (channels.public(commune.pk),)


ROUTES: dict[str, Resolver] = {"/flux/public": public_feed}


def declare(path: str, resolver: Resolver) -> None:
    if not path.startswith(PREFIX):
        raise ValueError(f"A stream lives under {PREFIX}: {path}")
    if ROUTES.get(path, resolver) is not resolver:
        raise ValueError(f"Two apps declare the stream {path}.")
    ROUTES[path] = resolver


def query_value(scope, name: str) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else ""


def session_key(scope) -> str:
    cookies = parse_cookie(next((v.decode("latin-1") for n, v in scope["headers"] if n == b"cookie"), ""))
    return cookies.get(settings.SESSION_COOKIE_NAME, "")


async def in_thread(function, *args):
    """``function(*args)`` in a thread, with the thread's database connection checked first."""

    def run():
        close_old_connections()
        return function(*args)

    return await asyncio.to_thread(run)
