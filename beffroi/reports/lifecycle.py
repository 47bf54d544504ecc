"""The report lifecycle, as a table: every other move is refused."""

from beffroi.core.lifecycle import Lifecycle
from beffroi.reports.models import Report

S = Report.Status
OPEN = (S.NEW, S.ACKNOWLEDGED, S.IN_PROGRESS, S.REOPENED)
CLOSED = (S.RESOLVED, S.REJECTED, S.DUPLICATE)

_transitions = {
    (S.NEW, "acknowledge"): S.ACKNOWLEDGED,
    (S.REOPENED, "acknowledge"): S.ACKNOWLEDGED,
}
for status in OPEN:
    _transitions[(status, "start")] = S.IN_PROGRESS
    _transitions[(status, "resolve")] = S.RESOLVED
    _transitions[(status, "reject")] = S.REJECTED
    _transitions[(status, "mark_duplicate")] = S.DUPLICATE
    # The receiving service starts over: it must acknowledge in its turn.
    _transitions[(status, "transfer")] = S.NEW
del _transitions[(S.IN_PROGRESS, "start")]
for status in (S.RESOLVED, S.REJECTED):
    _transitions[(status, "reopen")] = S.REOPENED

REPORT_LIFECYCLE = Lifecycle(
    transitions=_transitions,
    action_labels={
        "acknowledge": "Prendre en compte",
        "start": "Commencer le traitement",
        "resolve": "Marquer comme résolu",
        "reject": "Rejeter",
        "mark_duplicate": "Marquer comme doublon",
        "transfer": "Transférer",
        "reopen": "Rouvrir",
    },
)

# Actions with their own form in the console (they need more than a click).
ACTIONS_WITH_FORM = {"mark_duplicate", "transfer", "reject", "resolve"}
