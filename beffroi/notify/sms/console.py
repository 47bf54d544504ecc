import sys
import uuid

from beffroi.notify.sms.base import BaseBackend, SentSMS


class ConsoleBackend(BaseBackend):
    """Writes each SMS to standard output instead of sending it."""

    def send(self, *, to: str, text: str, sender: str = "") -> SentSMS:
        provider_id = uuid.uuid4().hex
        sys.stdout.write(f"--- SMS {provider_id} à {to} ({sender or 'Beffroi'}) ---\n{text}\n---\n")
        sys.stdout.flush()
        return SentSMS(provider_id=provider_id)
