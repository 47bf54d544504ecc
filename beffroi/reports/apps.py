from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "beffroi.reports"
    label = "reports"
    verbose_name = "Signalements"

    def ready(self):
        from beffroi.core import maintenance
        from beffroi.reports.services.retention import purge_closed_reports

        maintenance.register("reports_purged", purge_closed_reports)
