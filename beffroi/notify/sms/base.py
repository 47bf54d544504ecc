"""SMS sending interface. The embedded default writes messages to the console."""

from abc import ABC, abstractmethod
from dataclasses import dataclass

from django.conf import settings
from django.utils.module_loading import import_string


class SMSError(Exception):
    """The provider did not accept the message; it may be retried."""


@dataclass(frozen=True)
class SentSMS:
    provider_id: str


class BaseBackend(ABC):
    @abstractmethod
    def send(self, *, to: str, text: str, sender: str = "") -> SentSMS:
        """Hand one message to the provider; raise SMSError if it refuses."""


def get_backend() -> BaseBackend:
    return import_string(settings.SMS_BACKEND)()
