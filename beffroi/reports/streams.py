"""The reports' streams (declared to the edge in ReportsConfig.ready)."""

from beffroi.core.models import Membership
from beffroi.core.staff_access import staff_user_for_session
from beffroi.edge.hosts import commune_for
from beffroi.edge.streams import UNKNOWN_HOST, in_thread, query_value, session_key
from beffroi.realtime import channels
from beffroi.reports.selectors import follow_channels, follow_for_token


def _followed_channels(token: str, commune_id: int) -> tuple[str, ...] | None:
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
    followed = await in_thread(_followed_channels, query_value(scope, "jeton"), commune.pk)
    if followed is None:
        return 404, "Lien de suivi inconnu."
    return followed


def _agent_may_follow(key: str, organisation) -> bool:
    """Same rules as the back office: signed in, second factor, a role that handles reports."""
    user = staff_user_for_session(key)
    if user is None:
        return False
    membership = Membership.objects.of(user, organisation).first()
    return membership is not None and membership.can("handle_reports")


async def agent_console(scope):
    organisation = await commune_for(scope)
    if organisation is None:
        return UNKNOWN_HOST
    if not await in_thread(_agent_may_follow, session_key(scope), organisation):
        return 403, "Connexion d’agent requise, avec double authentification."
    return (channels.reports_received(organisation.pk),)
