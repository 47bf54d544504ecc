from django.apps import AppConfig


class SafeConfig(AppConfig):
    name = "beffroi.safe"
    label = "safe"
    verbose_name = "Coffre-fort numérique"

    def ready(self):
        from django.db.models import Q

        from beffroi.core import journal_labels, maintenance
        from beffroi.edge import streams
        from beffroi.ops import facts
        from beffroi.safe import auth  # noqa: F401 (connects its sign-in receiver)
        from beffroi.safe.streams import safe_link
        from beffroi.safe.tasks import daily_upkeep, ensure_reminders_scheduled

        maintenance.register("safe", daily_upkeep)
        streams.declare("/flux/coffre", safe_link)
        journal_labels.declare(
            nouns={"safe_link": "lien avec un coffre-fort"},
            verbs={"propose": "proposition", "confirm": "confirmation", "break": "rupture"},
            actions={
                "safe.open": "Coffre-fort : ouverture avec le bénéficiaire",
                "safe.delete": "Coffre-fort : suppression du compte par son titulaire",
                "safe.keyring_rotated": "Coffres-forts : rotation de la clé qui protège leurs clés",
                "safe.password_reset": "Coffre-fort : nouveau mot de passe, avec la preuve du bénéficiaire",
                "safe.reset_code_sent": "Coffre-fort : code envoyé au mobile du bénéficiaire",
                "safe.reset_refused": "Coffre-fort : code du bénéficiaire refusé",
                "safe.password_wait": "Coffre-fort : mot de passe provisoire, sans preuve, en attente",
                "safe.password_wait_cancel": "Coffre-fort : mot de passe provisoire annulé par le bénéficiaire",
                "safe.password_wait_link_broken": "Coffre-fort : mot de passe provisoire annulé, le lien étant rompu",
                "safe.password_wait_void": "Coffre-fort : mot de passe provisoire devenu caduc",
                "safe.password_wait_done": "Coffre-fort : mot de passe provisoire entré en vigueur",
            },
        )
        maintenance.register_chain("safe_reminders", ensure_reminders_scheduled)
        facts.register_count(
            "beffroi_safe_documents_damaged",
            "Documents of the safes whose last integrity check failed (refused until a check passes).",
            model="safe.Document",
            where=Q(check_failed_at__isnull=False),
        )
        facts.register_count(
            "beffroi_safe_stored_bytes",
            "Space the safes' documents take (the originals' sizes, as counted against the quotas).",
            model="safe.Safe",
            total="used_bytes",
        )
