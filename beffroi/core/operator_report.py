"""The daily operator report: an e-mail to the operators (``settings.ADMINS``)
saying what the daily maintenance did.

Each result of the daily job becomes a section: what an app registered with
``maintenance.register`` returned, listed as it is, unless the app gives its
own wording here with ``register(name, title, lines)``. The journal's section
carries the head, which is also one of the journal's anchors.
"""

import socket
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.mail import mail_admins
from django.utils import timezone

FAILED = "failed"  # key of a step's result when it raised
_sections: dict[str, tuple[str, Callable[[object], Iterable[str]]]] = {}


def register(name: str, title: str, lines: Callable[[object], Iterable[str]]) -> None:
    """Word the daily job's result ``name`` as ``lines(result)`` under ``title``."""
    _sections[name] = (title, lines)


def failed(result) -> bool:
    return isinstance(result, dict) and FAILED in result


def _errors(result) -> bool:
    return isinstance(result, dict) and bool(result.get("errors"))


def build(done: dict) -> tuple[str, str]:
    """The subject and text of the report for the daily job's results."""
    failures = [name for name, result in done.items() if failed(result) or _errors(result)]
    journal = done.get("journal") or {}
    subject = f"Rapport quotidien : journal à l’entrée n° {journal.get('seq', 0)}"
    if journal.get("intact") is False:
        subject += ", JOURNAL ROMPU"
    if failures:
        subject += f", {len(failures)} échec(s)"
    body = [
        f"Entretien quotidien du {timezone.localtime():%d/%m/%Y à %H:%M}, machine {socket.gethostname()}.",
    ]
    for name, result in done.items():
        title, lines = _sections.get(name, (name, counts))
        body += ["", title]
        if failed(result):
            body.append(f"  ÉCHEC : {result[FAILED]} (le détail est dans le journal du service beffroi-worker)")
        else:
            body += [f"  {line}" for line in lines(result)]
    return subject, "\n".join(body) + "\n"


def send(done: dict) -> bool:
    """Send the report; False when no operator is set (ADMIN_EMAILS)."""
    if not settings.ADMINS:
        return False
    subject, text = build(done)
    mail_admins(subject, text)
    return True


def counts(result, prefix: str = "") -> list[str]:
    """``{"integrity": {"checked": 3}}`` → ``["integrity.checked : 3"]``."""
    if isinstance(result, dict):
        lines = []
        for key, value in result.items():
            lines += counts(value, f"{prefix}{key}.")
        return lines or [f"{prefix.rstrip('.') or 'résultat'} : rien"]
    if isinstance(result, list | tuple):
        result = ", ".join(map(str, result)) or None
    value = "—" if result is None else result
    return [f"{prefix.rstrip('.') or 'résultat'} : {value}"]
