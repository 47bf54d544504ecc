from importlib import import_module

from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "beffroi.core"
    label = "core"
    verbose_name = "Socle"

    def ready(self):
        # Connect the signal receivers and register the system checks.
        import_module("beffroi.core.accounts")
        import_module("beffroi.core.checks")

        from beffroi.core import journal_anchors, operator_report

        operator_report.register("journal", "Journal", journal_anchors.report_lines)
        operator_report.register("events", "Événements temps réel", lambda n: [f"Effacés (anciens) : {n}"])
        operator_report.register("jobs", "Tâches de fond", lambda n: [f"Résultats anciens effacés : {n}"])
