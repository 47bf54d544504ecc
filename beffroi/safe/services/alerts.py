"""Telling a beneficiary, at once and by every channel they have, what was
done to their password without them.

Three channels: an SMS to the verified mobile (never to an unverified one),
a Web Push to each device they enabled, and a notice at their next visit
(the journal's entry itself: ``events.NOTICES``, shown until they say they
saw it). SMS and push are shown on a lock screen: their wording is fixed,
with no name of a person, an organisation or anything in the safe.
Call inside the transaction that records the event: the SMS and the push
job are queued with it, or not at all.
"""

import logging

from beffroi.core.tasks import enqueue
from beffroi.safe.models import Safe, SafePushSubscription

logger = logging.getLogger(__name__)

TEXTS = {
    "waiting": "Coffre-fort : un professionnel a choisi un mot de passe provisoire pour votre coffre. "
               "Si ce n’est pas vous, entrez avec votre mot de passe habituel pour l’annuler.",
    "reset": "Coffre-fort : le mot de passe de votre coffre vient d’être changé. "
             "Si ce n’est pas vous, prévenez la mairie sans attendre.",
    "code": "Coffre-fort : un code pour changer votre mot de passe a été demandé par un professionnel. "
            "Ne le donnez que si vous êtes avec lui.",
    "refused": "Coffre-fort : un code faux a été tapé pour changer le mot de passe de votre coffre. "
               "Entrez dans votre coffre pour voir son journal.",
}


def tell_owner(*, safe: Safe, kind: str, organisation=None, sms: bool = True) -> None:
    """``kind``: a key of TEXTS. ``organisation``: who pays the SMS (else the one that opened the safe).
    ``sms=False`` when an SMS already told them (the code itself)."""
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue
    from beffroi.safe.services.phone import verified_phone
    from beffroi.safe.tasks import push_notice

    text = TEXTS[kind]
    phone = verified_phone(safe) if sms else ""
    if phone:
        try:
            sms_enqueue(to=phone, text=text, purpose="notice", verified=True, account=f"safe:{safe.pk}",
                        organisation=organisation or safe.opened_with)
        except SmsRefused as refused:
            # The push and the notice still tell them; the refusal is counted with the caps.
            logger.warning("Coffre %s : avis non envoyé par SMS (%s)", safe.pk, refused.code)
    if SafePushSubscription.objects.filter(safe=safe).exists():
        enqueue(push_notice, safe.pk, text)
