from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "beffroi.notify.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self):
        from django.db.models import Q

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
        # The daily budgets (caps.py): what each payer used and what was refused beyond it today.
        for name, field, text in (("used", "count", "SMS taken from"), ("refused", "refused", "SMS refused beyond")):
            facts.register_count(
                f"beffroi_sms_budget_{name}_today",
                f"{text} the daily budget of each payer today: organisation:<id>, or platform "
                "(the budget is SMS_DAILY_BUDGET_PER_ORGANISATION, or SMS_DAILY_BUDGET_PLATFORM).",
                model="sms.SmsDailyCount",
                labels={"payer": "key"},
                where=Q(key__startswith="organisation:") | Q(key="platform"),
                today="day",
                total=field,
            )
