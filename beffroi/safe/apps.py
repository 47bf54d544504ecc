from django.apps import AppConfig


class SafeConfig(AppConfig):
    name = "beffroi.safe"
    label = "safe"
    verbose_name = "Coffre-fort numérique"

    def ready(self):
        from django.db.models import Q

        from beffroi.core import maintenance
        from beffroi.edge import streams
        from beffroi.ops import facts
        from beffroi.safe import auth  # noqa: F401 (connects its sign-in receiver)
        from beffroi.safe.streams import safe_link
        from beffroi.safe.tasks import daily_upkeep, ensure_reminders_scheduled

        maintenance.register("safe", daily_upkeep)
        streams.declare("/flux/coffre", safe_link)
        maintenance.register_chain("safe_reminders", ensure_reminders_scheduled)
        facts.register_count(
            "beffroi_safe_documents_damaged",
            "Documents of the safes whose last integrity check failed (refused until a check passes).",
            model="safe.Document",
            where=Q(check_failed_at__isnull=False),
        )
        facts.register_count(
            "beffroi_safe_stored_bytes",
            "Space the safes' documents take (the originals' sizes, as counted against the quotas).",
            model="safe.Safe",
            total="used_bytes",
        )
