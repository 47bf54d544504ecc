from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "beffroi.reports"
    label = "reports"
    verbose_name = "Signalements"

    def ready(self):
        from beffroi.core import maintenance
        from beffroi.edge import streams
        from beffroi.reports.services.retention import purge_closed_reports
        from beffroi.reports.streams import agent_console, report_followers

        maintenance.register("reports_purged", purge_closed_reports)
        streams.declare("/flux/signalement", report_followers)
        streams.declare("/flux/gestion", agent_console)
