from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "beffroi.notify"
    label = "notify"
    verbose_name = "Notifications"

    def ready(self):
        from beffroi.notify import checks  # noqa: F401  (registered on import)
