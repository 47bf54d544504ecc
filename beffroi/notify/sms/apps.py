from django.apps import AppConfig


class SmsConfig(AppConfig):
    name = "beffroi.notify.sms"
    label = "sms"
    verbose_name = "SMS"

    def ready(self):
        from beffroi.core import maintenance
        from beffroi.notify.sms import checks, signals  # noqa: F401  (registered on import)
        from beffroi.notify.sms.tasks import ensure_dispatch_scheduled

        maintenance.register_chain("sms_dispatch", ensure_dispatch_scheduled)
