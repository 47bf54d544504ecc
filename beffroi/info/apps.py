from django.apps import AppConfig


class InfoConfig(AppConfig):
    name = "beffroi.info"
    label = "info"
    verbose_name = "Fil d’information"

    def ready(self):
        from beffroi.core import journal_labels

        journal_labels.declare(
            nouns={"post": "publication", "topic": "thème", "screen": "panneau"},
            verbs={
                "publish": "publication",
                "schedule": "programmation",
                "unschedule": "déprogrammation",
                "withdraw": "retrait",
                "expire": "expiration",
                "to_draft": "retour au brouillon",
            },
        )
