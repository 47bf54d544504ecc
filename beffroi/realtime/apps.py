from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "beffroi.realtime"
    label = "realtime"
    verbose_name = "Temps réel"
