"""The embedded default: each SMS is written to the log instead of being sent."""

import logging
import uuid

from beffroi.notify.sms.base import BaseBackend, Outgoing

logger = logging.getLogger("beffroi.sms")


class ConsoleBackend(BaseBackend):
    async def send(self, message: Outgoing) -> str:
        provider_id = f"console-{uuid.uuid4().hex[:12]}"
        logger.info("SMS %s à %s (%s) :\n%s", message.tag, message.to, self.sender or "Beffroi", message.text)
        return provider_id

    async def lookup(self, tag: str) -> str | None:
        return None  # nothing is kept: a message taken over after a crash is logged again
