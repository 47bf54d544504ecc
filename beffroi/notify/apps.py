from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "beffroi.notify"
    label = "notify"
    verbose_name = "Notifications"
