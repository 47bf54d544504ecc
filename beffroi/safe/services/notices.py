"""Notices at the owner's next visit: the journal's entries about their
password made without them (``events.NOTICES``), shown on their safe's home
until they say they saw them."""

from beffroi.safe.events import NOTICES, readable
from beffroi.safe.models import Safe, SafeEvent


def unseen_notices(safe: Safe, key: bytes) -> list[dict]:
    events = list(SafeEvent.objects.filter(safe=safe, seq__gt=safe.notices_seen_seq, action__in=NOTICES)
                  .order_by("seq")[:20])
    rows = readable(events, safe=safe, key=key)
    for row, event in zip(rows, events, strict=True):
        row["seq"] = event.seq
    return rows


def notices_mark_seen(*, safe: Safe, up_to: str) -> None:
    """Seen up to the last one shown (one that arrived since stays)."""
    seq = int(up_to) if up_to.isascii() and up_to.isdigit() and len(up_to) < 10 else 0
    last = SafeEvent.objects.filter(safe=safe).order_by("-seq").values_list("seq", flat=True).first() or 0
    Safe.objects.filter(pk=safe.pk, notices_seen_seq__lt=min(seq, last)).update(notices_seen_seq=min(seq, last))
