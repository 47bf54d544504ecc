"""System checks of the SMS settings (``manage.py check``).

Warnings, not errors: the worker runs the checks when it starts, and a wrong
SMS setting must not stop the other jobs (messages wait in the outbox until
it is fixed). ``check --deploy --fail-level WARNING`` refuses them.
"""

from django.conf import settings
from django.core import checks

from beffroi.notify.sms.base import BACKENDS
from beffroi.notify.sms.dispatch import LEASE_MARGIN_SECONDS


@checks.register(checks.Tags.compatibility)
def sms_settings(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    errors = []
    if settings.SMS_BACKEND == "ovh" or settings.SMS_BACKEND == BACKENDS["ovh"]:
        names = ["SMS_OVH_APPLICATION_KEY", "SMS_OVH_APPLICATION_SECRET", "SMS_OVH_CONSUMER_KEY", "SMS_OVH_SERVICE_NAME"]
        missing = [name for name in names if not getattr(settings, name)]
        if missing:
            errors.append(checks.Warning(f"SMS_BACKEND=ovh needs {', '.join(missing)}.", id="sms.W001"))
    elif settings.SMS_BACKEND not in BACKENDS and "." not in settings.SMS_BACKEND:
        errors.append(
            checks.Warning(f"Unknown SMS_BACKEND {settings.SMS_BACKEND!r}: console, file or ovh.", id="sms.W002")
        )
    # A message is looked up then sent within one lease: both calls must fit.
    if settings.SMS_LEASE_SECONDS < 2 * settings.SMS_TIMEOUT_SECONDS + LEASE_MARGIN_SECONDS + 1:
        errors.append(
            checks.Warning(
                "SMS_LEASE_SECONDS must exceed twice SMS_TIMEOUT_SECONDS (plus 2 s): "
                "a worker would otherwise never have the time to send a message.",
                id="sms.W003",
            )
        )
    return errors
