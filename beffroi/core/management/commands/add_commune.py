"""Add a commune and the host names its site answers on, for operators.

    manage.py add_commune haisnes --name Haisnes --host haisnes.fr --host www.haisnes.fr
    manage.py add_commune haisnes --existing --host mairie-haisnes.fr

The commune and its host names are created in one transaction and journaled
(the author is "Système"). Django first checks the host against
ALLOWED_HOSTS, so a name missing from it is reported.
"""

import ipaddress
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import DomainNameValidator
from django.db import transaction
from django.http.request import validate_host

from beffroi.core import journal
from beffroi.core.models import Domain, Organisation
from beffroi.core.tenancy import hosts as host_directory

# An intranet name without a dot ("localhost", "mairie").
SINGLE_LABEL = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?")


def normalise_host(raw: str) -> str:
    """Lower case, no trailing dot, internationalised names in their ASCII form."""
    host = raw.strip().lower().rstrip(".")
    try:
        host = host.encode("idna").decode("ascii")
    except UnicodeError as exc:
        raise CommandError(f"Nom d’hôte invalide : « {raw} ».") from exc
    if not (_is_domain_name(host) or SINGLE_LABEL.fullmatch(host) or _is_ipv4(host)):
        raise CommandError(f"Nom d’hôte invalide : « {raw} ».")
    return host


def _is_domain_name(host: str) -> bool:
    try:
        DomainNameValidator(accept_idna=False)(host)
    except ValidationError:
        return False
    return True


def _is_ipv4(host: str) -> bool:
    try:
        ipaddress.IPv4Address(host)
    except ValueError:
        return False
    return True


def _messages(error: ValidationError) -> str:
    return " ".join(error.messages)


class Command(BaseCommand):
    help = "Ajoute une commune et ses noms d’hôte (ou des noms d’hôte à une commune existante, avec --existing)."

    def add_arguments(self, parser):
        parser.add_argument("slug", help="identifiant de la commune (ex. : haisnes)")
        parser.add_argument("--name", help="nom de la commune (ex. : Haisnes)")
        parser.add_argument(
            "--host",
            dest="host_names",
            action="append",
            required=True,
            help="nom d’hôte du site (à répéter ; le premier devient le nom principal d’une nouvelle commune)",
        )
        parser.add_argument("--insee", default="", help="code INSEE (ex. : 62413)")
        parser.add_argument("--email", default="", help="courriel public de la mairie")
        parser.add_argument("--parent", help="identifiant de l’agglomération de rattachement")
        parser.add_argument(
            "--existing", action="store_true", help="la commune existe déjà : ajouter seulement les noms d’hôte"
        )

    def handle(self, *args, slug, name, host_names: list[str], insee, email, parent, existing, **options):
        names = list(dict.fromkeys(normalise_host(host) for host in host_names))
        taken = dict(Domain.objects.filter(hostname__in=names).values_list("hostname", "organisation__name"))
        if taken:
            listed = ", ".join(f"« {host} » ({owner})" for host, owner in taken.items())
            raise CommandError(f"Nom(s) d’hôte déjà utilisé(s) : {listed}.")

        with transaction.atomic():
            if existing:
                commune = self._existing(slug)
            else:
                commune = self._create(slug=slug, name=name, insee=insee, email=email, parent=parent, names=names)
            has_primary = commune.domains.filter(is_primary=True).exists()
            for index, host in enumerate(names):
                domain = Domain(hostname=host, organisation=commune, is_primary=not has_primary and index == 0)
                try:
                    domain.full_clean()
                except ValidationError as exc:
                    raise CommandError(f"« {host} » : {_messages(exc)}") from exc
                domain.save()
                journal.record(
                    actor=None,
                    organisation=commune,
                    action="domain.create",
                    target=domain,
                    data={"hostname": host, "is_primary": domain.is_primary},
                )
            transaction.on_commit(host_directory.clear)

        if existing:
            done = f"Noms d’hôte ajoutés à {commune.name} ({commune.slug}) : {', '.join(names)}."
        else:
            done = f"Commune {commune.name} ({commune.slug}) créée, avec les noms d’hôte : {', '.join(names)}."
        self.stdout.write(self.style.SUCCESS(done))
        missing = [host for host in names if not validate_host(host, settings.ALLOWED_HOSTS)]
        if missing:
            self.stdout.write(
                self.style.WARNING(
                    f"Attention : {', '.join(missing)} absent(s) de ALLOWED_HOSTS. Ajoutez-les dans le fichier "
                    "d’environnement, puis redémarrez beffroi-web ; Django refuse sinon ces requêtes."
                )
            )
        self.stdout.write(
            "Pensez aussi au server_name de nginx et au certificat TLS (voir docs/deploy.md). "
            "Les processus web déjà lancés reconnaissent un nouveau nom d’hôte sous 30 secondes."
        )

    @staticmethod
    def _existing(slug: str) -> Organisation:
        commune = Organisation.objects.communes().filter(slug=slug).first()
        if commune is None:
            raise CommandError(f"Aucune commune n’a l’identifiant « {slug} ».")
        return commune

    @staticmethod
    def _create(*, slug, name, insee, email, parent, names) -> Organisation:
        if Organisation.objects.filter(slug=slug).exists():
            raise CommandError(f"L’identifiant « {slug} » est déjà pris (ajoutez --existing pour compléter ses noms d’hôte).")
        if not name:
            raise CommandError("Indiquez le nom de la nouvelle commune avec --name (ou --existing pour une commune existante).")
        parent_organisation = None
        if parent:
            parent_organisation = Organisation.objects.filter(slug=parent).first()
            if parent_organisation is None:
                raise CommandError(f"Aucune organisation n’a l’identifiant « {parent} ».")
        commune = Organisation(
            kind=Organisation.Kind.COMMUNE,
            name=name.strip(),
            slug=slug,
            insee_code=insee.strip(),
            email=email.strip(),
            parent=parent_organisation,
        )
        try:
            commune.full_clean()
        except ValidationError as exc:
            raise CommandError(_messages(exc)) from exc
        commune.save()
        journal.record(
            actor=None,
            organisation=commune,
            action="organisation.create",
            target=commune,
            data={"kind": commune.kind, "slug": slug, "hosts": names},
        )
        return commune
