"""System checks of the core's settings (``manage.py check``)."""

from django.conf import settings
from django.core import checks

from beffroi.core.journal_keys import JournalKeyError, parse


@checks.register(checks.Tags.security)
def journal_keys_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.JOURNAL_KEYS:
        try:
            parse(settings.JOURNAL_KEYS)
        except JournalKeyError as exc:
            return [checks.Error(str(exc), id="beffroi.E001")]
    return []


@checks.register(checks.Tags.security, deploy=True)
def journal_keys_deploy_check(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    if settings.JOURNAL_KEYS:
        return []
    # A key generated per machine: entries written on another machine would not verify.
    return [
        checks.Warning(
            "JOURNAL_KEYS is not set: the journal's MAC key is generated under BEFFROI_VAR_DIR on this machine only.",
            hint="Create it once and give it as JOURNAL_KEYS_FILE (docs/deploy.md, « Secrets »).",
            id="beffroi.W001",
        )
    ]
