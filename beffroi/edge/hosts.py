"""Host name → commune, for the async side (cache first, database in a thread)."""

import asyncio

from django.db import close_old_connections

from beffroi.core.tenancy import hosts, split_host


def scope_host(scope) -> str:
    for name, value in scope["headers"]:
        if name == b"host":
            return split_host(value.decode("latin-1"))
    server = scope.get("server")
    return server[0] if server else ""


def _lookup(host: str):
    close_old_connections()
    return hosts.lookup(host)


async def commune_for(scope):
    host = scope_host(scope)
    known, commune = hosts.peek(host)
    if known:
        return commune
    return await asyncio.to_thread(_lookup, host)
