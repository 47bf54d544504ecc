from importlib import import_module

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "beffroi.core"
    label = "core"
    verbose_name = "Socle"

    def ready(self):
        # Connect the signal receivers.
        import_module("beffroi.core.accounts")
