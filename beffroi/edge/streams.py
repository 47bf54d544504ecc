"""The streams a page may follow, and who may follow them.

Resolvers run on the event loop; what needs the database runs in a thread.
"""

import asyncio
from importlib import import_module
from urllib.parse import parse_qs

from django.conf import settings
from django.db import close_old_connections
from django.http import HttpRequest
from django.http.cookie import parse_cookie

from beffroi.edge.hosts import commune_for
from beffroi.realtime import channels

UNKNOWN_HOST = (404, "Aucune commune n’est servie à cette adresse.")


async def public_feed(scope):
    commune = await commune_for(scope)
    if commune is None:
        return UNKNOWN_HOST
    return (channels.public(commune.pk),)


def _query(scope, name: str) -> str:
    values = parse_qs(scope.get("query_string", b"").decode("latin-1")).get(name)
    return values[0] if values else ""


def _followed_channels(token: str, commune_id: int) -> tuple[str, ...] | None:
    from beffroi.reports.selectors import follow_channels, follow_for_token

    close_old_connections()
    follow = follow_for_token(token)
    if follow is None or follow.report.commune_id != commune_id:
        return None
    return follow_channels(follow.report_id, author=follow.is_author)


async def report_followers(scope):
    """A report's follow-up page: its secret token opens the report's public
    steps, and the author's token also the steps between the author and the agents."""
    commune = await commune_for(scope)
    if commune is None:
        return UNKNOWN_HOST
    followed = await asyncio.to_thread(_followed_channels, _query(scope, "jeton"), commune.pk)
    if followed is None:
        return 404, "Lien de suivi inconnu."
    return followed


def _agent_may_follow(session_key: str, organisation) -> bool:
    """Same rules as the back office: signed in, second factor, a role that handles reports."""
    from django.contrib.auth import get_user

    from beffroi.core.models import Membership
    from beffroi.core.staff_access import has_second_factor

    close_old_connections()
    if not session_key:
        return False
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request.user = get_user(request)
    if not request.user.is_authenticated or not has_second_factor(request):
        return False
    membership = Membership.objects.of(request.user, organisation).first()
    return membership is not None and membership.can("handle_reports")


async def agent_console(scope):
    organisation = await commune_for(scope)
    if organisation is None:
        return UNKNOWN_HOST
    cookies = parse_cookie(next((v.decode("latin-1") for n, v in scope["headers"] if n == b"cookie"), ""))
    allowed = await asyncio.to_thread(_agent_may_follow, cookies.get(settings.SESSION_COOKIE_NAME, ""), organisation)
    if not allowed:
        return 403, "Connexion d’agent requise, avec double authentification."
    return (channels.reports_received(organisation.pk),)


def _professional_may_follow(session_key: str, link_id: int) -> bool:
    """A professional of the link's organisation (second factor, a role that opens safes)."""
    from django.contrib.auth import get_user

    from beffroi.core.staff_access import has_second_factor
    from beffroi.safe.access import professional_organisations
    from beffroi.safe.models import Link

    close_old_connections()
    if not session_key:
        return False
    request = HttpRequest()
    request.session = import_module(settings.SESSION_ENGINE).SessionStore(session_key)
    request.user = get_user(request)
    if not request.user.is_authenticated or not has_second_factor(request):
        return False
    # Only an active link: a broken (or declined, or never confirmed) one opens nothing.
    link = Link.objects.filter(pk=link_id, status=Link.Status.ACTIVE).values("organisation_id").first()
    return link is not None and professional_organisations(request.user).filter(pk=link["organisation_id"]).exists()


async def safe_link(scope):
    """A professional's open safe page: told at once when the link breaks."""
    link_id = _query(scope, "lien")
    if not link_id.isdigit() or len(link_id) > 18:
        return 400, "Lien inconnu."
    cookies = parse_cookie(next((v.decode("latin-1") for n, v in scope["headers"] if n == b"cookie"), ""))
    allowed = await asyncio.to_thread(_professional_may_follow, cookies.get(settings.SESSION_COOKIE_NAME, ""), int(link_id))
    if not allowed:
        return 403, "Connexion de professionnel requise, avec double authentification."
    return (channels.safe_link(int(link_id)),)


ROUTES = {
    "/flux/public": public_feed,
    "/flux/signalement": report_followers,
    "/flux/gestion": agent_console,
    "/flux/coffre": safe_link,
}
