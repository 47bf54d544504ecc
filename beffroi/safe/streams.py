"""The safe's stream (declared to the edge in SafeConfig.ready)."""

from beffroi.core.staff_access import staff_user_for_session
from beffroi.edge.streams import in_thread, query_value, session_key
from beffroi.realtime import channels
from beffroi.safe.access import professional_organisations
from beffroi.safe.models import Link


def _professional_may_follow(key: str, link_id: int) -> bool:
    """A professional of the link's organisation (second factor, a role that opens safes)."""
    user = staff_user_for_session(key)
    if user is None:
        return False
    # Only an active link: a broken (or declined, or never confirmed) one opens nothing.
    link = Link.objects.filter(pk=link_id, status=Link.Status.ACTIVE).values("organisation_id").first()
    return link is not None and professional_organisations(user).filter(pk=link["organisation_id"]).exists()


async def safe_link(scope):
    """A professional's open safe page: told at once when the link breaks."""
    link_id = query_value(scope, "lien")
    if not (link_id.isascii() and link_id.isdigit()) or len(link_id) > 18:
        return 400, "Lien inconnu."
    if not await in_thread(_professional_may_follow, session_key(scope), int(link_id)):
        return 403, "Connexion de professionnel requise, avec double authentification."
    return (channels.safe_link(int(link_id)),)
