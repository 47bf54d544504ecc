from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "beffroi.notify.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self):
        from beffroi.notify.sms import checks, signals  # noqa: F401  (registered on import)
