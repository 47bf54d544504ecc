"""System check of the outgoing HTTP settings (``manage.py check``).

A warning, like the SMS checks: the worker runs the checks when it starts,
and a wrong proxy must not stop the jobs that need no network;
``check --deploy --fail-level WARNING`` refuses it.
"""

from django.conf import settings
from django.core import checks

from beffroi.notify.http import parse_proxy


@checks.register(checks.Tags.compatibility)
def outbound_proxy(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    try:
        parse_proxy(settings.OUTBOUND_PROXY)
    except ValueError as exc:
        return [checks.Warning(str(exc), id="notify.W001")]
    return []
