"""Which part of the site a request was for, named from the URL patterns.

Paths are never used as labels or logged: they hold capability tokens (a
report's follow link, a password reset link) and are unbounded.
"""

from django.urls import Resolver404, resolve

UNMATCHED = ("unmatched", "unmatched")


def route_of(request) -> tuple[str, str]:
    """(view group, route name): ("reports", "reports:follow"), ("allauth", "account_login")."""
    match = request.resolver_match
    if match is None:
        # A middleware answered before the URL was resolved (unknown host
        # name, sign-in redirect): resolve it now, for the name only.
        try:
            match = resolve(request.path_info)
        except (Resolver404, ValueError):
            return UNMATCHED
    if match.namespaces:
        group = match.namespaces[0]
    else:
        module = match.func.__module__.split(".")
        group = module[1] if module[0] == "beffroi" and len(module) > 1 else module[0]
    return group, match.view_name
