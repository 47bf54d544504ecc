"""The SMS lifecycle, as a table: every other move is refused.

queued → sending (a worker claims it, with a lease);
sending → sent (the provider accepted it, or said it already had it);
sending → queued (to try again later), sending → failed (refused, or too many tries);
sending → sending (the lease ran out: another worker takes it over).
"""

from beffroi.core.lifecycle import Lifecycle
from beffroi.notify.sms.models import SmsMessage

S = SmsMessage.Status

SMS_LIFECYCLE = Lifecycle(
    transitions={
        (S.QUEUED, "claim"): S.SENDING,
        (S.SENDING, "take_over"): S.SENDING,
        (S.SENDING, "accepted"): S.SENT,
        (S.SENDING, "retry"): S.QUEUED,
        (S.SENDING, "give_up"): S.FAILED,
    },
    action_labels={
        "claim": "Prendre en charge",
        "take_over": "Reprendre après l’arrêt d’un worker",
        "accepted": "Accepté par l’opérateur",
        "retry": "Réessayer plus tard",
        "give_up": "Abandonner",
    },
)
