"""What every SMS backend does: hand a message to the provider, and say whether
the provider already has a message with a given tag.

Backends are asynchronous so that a batch goes out concurrently (``deliver``),
over one pool of connections; the dispatcher calls ``deliver`` from the
worker's synchronous code. Before sending a message that an earlier attempt
may have handed over (``Outgoing.check_first``), the backend asks the provider
about its tag: that is what keeps a message from being sent twice.
"""

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass

import uvloop
from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)

BACKENDS = {
    "console": "beffroi.notify.sms.console.ConsoleBackend",
    "file": "beffroi.notify.sms.file.FileBackend",
    "ovh": "beffroi.notify.sms.ovh.OvhBackend",
}


class SmsError(Exception):
    """The provider did not take the message. ``permanent``: trying again is useless."""

    def __init__(self, reason: str, *, permanent: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent


@dataclass(frozen=True, slots=True)
class Outgoing:
    tag: str
    to: str
    text: str
    check_first: bool = False  # an earlier attempt may have reached the provider
    may_send: bool = True  # False: only ask the provider whether it has it


@dataclass(frozen=True, slots=True)
class Outcome:
    SENT = "sent"  # the provider has it (provider_id); found: by an earlier attempt
    RETRY = "retry"  # not handed over, or not known to be: try again later
    FAILED = "failed"  # refused for good (reason)
    NOT_STARTED = "not_started"  # the claim's lease was too short to start: untouched

    kind: str
    provider_id: str = ""
    reason: str = ""
    found: bool = False


class BaseBackend(ABC):
    # Longest a call to the provider may take, in seconds: a call is only
    # started if it ends within the claim's lease.
    timeout: float = 1.0
    concurrency: int = 1

    def __init__(self, *, sender: str = ""):
        self.sender = sender

    @classmethod
    def from_settings(cls) -> "BaseBackend":
        return cls(sender=settings.SMS_SENDER)

    @abstractmethod
    async def send(self, message: Outgoing) -> str:
        """Hand one message to the provider: its id there, or SmsError."""

    @abstractmethod
    async def lookup(self, tag: str) -> str | None:
        """The provider's id of a message it accepted with this tag, None if it
        has none; SmsError if it cannot tell."""

    async def open(self) -> None:  # noqa: B027 (optional hook)
        """Acquire what a batch needs (connections)."""

    async def close(self) -> None:  # noqa: B027 (optional hook)
        """Release it."""

    def deliver(self, messages: Sequence[Outgoing], *, deadline: float) -> list[Outcome]:
        """Outcomes in the order of ``messages``; no call starts unless it can
        end before ``deadline`` (``time.monotonic()``)."""
        return uvloop.run(self._deliver_all(messages, deadline))

    async def _deliver_all(self, messages: Sequence[Outgoing], deadline: float) -> list[Outcome]:
        slots = asyncio.Semaphore(self.concurrency)

        async def one(message: Outgoing) -> Outcome:
            async with slots:
                return await self._deliver_one(message, deadline)

        await self.open()
        try:
            return list(await asyncio.gather(*(one(m) for m in messages)))
        finally:
            await self.close()

    async def _deliver_one(self, message: Outgoing, deadline: float) -> Outcome:
        try:
            if message.check_first:
                if time.monotonic() + self.timeout > deadline:
                    return Outcome(Outcome.NOT_STARTED)
                found = await self.lookup(message.tag)
                if found is not None:
                    return Outcome(Outcome.SENT, provider_id=found, found=True)
            if not message.may_send:
                return Outcome(Outcome.FAILED, reason="Abandon : l’envoi a été interrompu trop de fois.")
            if time.monotonic() + self.timeout > deadline:
                return Outcome(Outcome.NOT_STARTED)
            return Outcome(Outcome.SENT, provider_id=await self.send(message))
        except SmsError as exc:
            return Outcome(Outcome.FAILED if exc.permanent else Outcome.RETRY, reason=exc.reason)
        except Exception:
            logger.exception("Envoi du SMS %s : erreur inattendue", message.tag)
            return Outcome(Outcome.RETRY, reason="Erreur inattendue pendant l’envoi.")


def get_backend() -> BaseBackend:
    """The backend named by SMS_BACKEND ("console", "file", "ovh" or a dotted path)."""
    path = BACKENDS.get(settings.SMS_BACKEND, settings.SMS_BACKEND)
    return import_string(path).from_settings()
