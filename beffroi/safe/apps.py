from django.apps import AppConfig


class SafeConfig(AppConfig):
    name = "beffroi.safe"
    label = "safe"
    verbose_name = "Coffre-fort numérique"

    def ready(self):
        from beffroi.core import maintenance
        from beffroi.edge import streams
        from beffroi.safe import auth  # noqa: F401 (connects its sign-in receiver)
        from beffroi.safe.streams import safe_link
        from beffroi.safe.tasks import daily_upkeep, ensure_reminders_scheduled

        maintenance.register("safe", daily_upkeep)
        streams.declare("/flux/coffre", safe_link)
        maintenance.register_chain("safe_reminders", ensure_reminders_scheduled)
