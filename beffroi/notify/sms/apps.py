from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "beffroi.notify.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self):
        from beffroi.core import maintenance
        from beffroi.notify.sms import checks, signals  # noqa: F401  (registered on import)
        from beffroi.notify.sms.tasks import ensure_dispatch_scheduled
        from beffroi.ops import facts

        maintenance.register_chain("sms_dispatch", ensure_dispatch_scheduled)
        facts.register_count(
            "beffroi_sms_today",
            "SMS created since midnight (local time), by organisation (empty: the platform's own) and status.",
            model="sms.SmsMessage",
            labels={"organisation": "organisation__slug", "status": "status"},
            today="created_at",
        )
