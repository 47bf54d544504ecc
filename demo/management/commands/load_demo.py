from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from demo.builder import DEMO_BENEFICIARY, DEMO_PASSWORD, load_demo


class Command(BaseCommand):
    help = "Charge les données de démonstration (Haisnes et Douvrin) et affiche les comptes."

    def add_arguments(self, parser):
        parser.add_argument("--force", action="store_true", help="charger même si HTTPS=1 (production)")

    def handle(self, *args, force, **options):
        # Demo accounts have published passwords and TOTP keys.
        if settings.HTTPS and not force:
            raise CommandError("Refusé : HTTPS=1 désigne une production, où les comptes de démonstration seraient publics.")
        logins = load_demo()
        out = self.stdout
        out.write(self.style.SUCCESS("Données de démonstration prêtes."))
        out.write("")
        out.write("Site de Haisnes : http://127.0.0.1:8000/   (Douvrin : http://douvrin.localhost:8000/)")
        out.write("Espace agents : http://127.0.0.1:8000/gestion/ — signalements : http://127.0.0.1:8000/gestion/signalements/")
        out.write("Agglomération (déchets) : http://agglo.localhost:8000/gestion/signalements/")
        out.write(f"Coffre-fort numérique : http://127.0.0.1:8000/coffre/ (bénéficiaire « {DEMO_BENEFICIARY} », "
                  "sans adresse électronique) ; accompagnement : http://127.0.0.1:8000/accompagnement/")
        out.write(f"Mot de passe de tous les comptes de démonstration : {DEMO_PASSWORD}")
        out.write("Double authentification : ajoutez la clé TOTP dans une application d’authentification,")
        out.write("ou affichez le code du moment avec : .venv/bin/python manage.py demo_code <adresse>")
        out.write("")
        for login in logins:
            out.write(f"  {login.email:<24} {login.role:<15} {login.commune[:12]:<12} TOTP {login.totp_secret}")
            out.write(f"  {'':<24} code de secours à usage unique : {login.recovery_code}")
