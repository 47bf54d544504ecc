from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "beffroi.reports"
    label = "reports"
    verbose_name = "Signalements"

    def ready(self):
        from beffroi.core import journal_labels, maintenance
        from beffroi.edge import streams
        from beffroi.reports.services.retention import purge_closed_reports
        from beffroi.reports.streams import agent_console, report_followers

        maintenance.register("reports_purged", purge_closed_reports)
        streams.declare("/flux/signalement", report_followers)
        streams.declare("/flux/gestion", agent_console)
        journal_labels.declare(
            nouns={
                "report": "signalement",
                "open311_client": "client Open311",
                "category": "catégorie de signalement",
                "routingrule": "règle d’orientation",
                "categoryquestion": "question d’une catégorie",
                "oncallshift": "astreinte",
                "reportsettings": "réglages des signalements",
            },
            verbs={
                "acknowledge": "prise en compte",
                "start": "début du traitement",
                "resolve": "résolution",
                "reject": "rejet",
                "mark_duplicate": "doublon",
                "transfer": "transfert",
                "reopen": "réouverture",
                "assign": "attribution",
                "reply": "réponse à l’auteur",
                "note": "note interne",
                "question": "question à l’auteur",
                "photo": "photo",
                "moderate": "publication",
                "escalate": "relance",
                "purge": "effacement",
            },
        )
