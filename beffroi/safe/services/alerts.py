"""Telling a beneficiary, at once and by every channel they have, what was
done to their password without them, and what would let someone take their
safe over (a new mobile number, new recovery codes).

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

# Written with the GSM alphabet only (no ’ nor ê): one SMS segment of 160 characters, not three of 70.
TEXTS = {
    "waiting": "Coffre-fort : un professionnel a choisi un mot de passe provisoire pour votre coffre. "
               "Vous pouvez refuser : entrez avec votre mot de passe habituel et annulez.",
    "reset": "Coffre-fort : le mot de passe de votre coffre a été changé. "
             "Si ce changement vous surprend, prévenez la mairie sans attendre.",
    "code": "Coffre-fort : un professionnel a fait envoyer un code pour changer votre mot de passe. "
            "Donnez-le seulement à la personne qui est avec vous.",
    "refused": "Coffre-fort : un code faux a été tapé pour changer le mot de passe de votre coffre. "
               "Entrez dans votre coffre pour voir son journal.",
    "phone": "Coffre-fort : le numéro de mobile de votre coffre a été changé. "
             "Si ce changement vous surprend, prévenez la mairie sans attendre.",
    "recovery": "Coffre-fort : de nouveaux codes de secours ont été créés pour votre coffre. "
                "Si ce n'est pas vous, prévenez la mairie sans attendre.",
}


def tell_owner(*, safe: Safe, kind: str, organisation=None, sms: bool = True, phone: str | None = None) -> None:
    """``kind``: a key of TEXTS. ``organisation``: who pays the SMS (else the one that opened the safe).
    ``sms=False`` when an SMS already told them (the code itself). ``phone``: the verified number to
    tell, when it is about to change (else the safe's verified number)."""
    from beffroi.notify.sms.caps import SmsRefused
    from beffroi.notify.sms.services import sms_enqueue
    from beffroi.safe.services.phone import verified_phone
    from beffroi.safe.tasks import push_notice

    text = TEXTS[kind]
    if not sms:
        phone = ""
    elif phone is None:
        phone = verified_phone(safe)
    if phone:
        try:
            sms_enqueue(to=phone, text=text, purpose="notice", verified=True, account=f"safe:{safe.pk}",
                        organisation=organisation or safe.opened_with)
        except SmsRefused as refused:
            # The push and the notice still tell them; the refusal is counted with the caps.
            logger.warning("Coffre %s : avis non envoyé par SMS (%s)", safe.pk, refused.code)
    if SafePushSubscription.objects.filter(safe=safe).exists():
        enqueue(push_notice, safe.pk, text)
