"""Create an Open311 client of a commune and print its API key, once.

    manage.py open311_key haisnes "FixMyStreet"

Only the key's SHA-256 is stored: the key cannot be shown again, a lost key
is replaced by a new client. The creation is journaled (author "Système").
"""

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from beffroi.core.models import Organisation
from beffroi.reports.open311.clients import open311_client_create


class Command(BaseCommand):
    help = "Crée un client Open311 (GeoReport v2) d’une commune et affiche sa clé d’API, une seule fois."

    def add_arguments(self, parser):
        parser.add_argument("organisation", help="identifiant de la commune (ex. : haisnes)")
        parser.add_argument("name", help="nom du client (ex. : FixMyStreet)")

    def handle(self, *args, organisation, name, **options):
        commune = Organisation.objects.filter(slug=organisation).first()
        if commune is None:
            raise CommandError(f"Aucune organisation n’a l’identifiant « {organisation} ».")
        try:
            client, key = open311_client_create(organisation=commune, name=name)
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        self.stdout.write(self.style.SUCCESS(f"Client Open311 « {client.name} » créé pour {commune.name}."))
        self.stdout.write("Clé d’API (api_key), affichée cette seule fois : seule son empreinte est enregistrée.")
        self.stdout.write(key)
        domain = commune.domains.order_by("-is_primary", "pk").values_list("hostname", flat=True).first()
        if domain:
            scheme = "https" if settings.HTTPS else "http"
            self.stdout.write(f"Adresse de l’API : {scheme}://{domain}/open311/v2/ (services.xml, requests.xml…).")
