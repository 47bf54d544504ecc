"""Create a staff account in a commune (the first administrator, typically).

    manage.py create_staff haisnes --email secretariat@haisnes.fr --first-name Camille --last-name Martin

No password goes on the command line: the account is created through the same
service as the back office's invitation (journaled, the author being
"Système"), which e-mails a link to choose a password; the command also prints
that link, for when e-mail is not set up yet. The link works once, for
PASSWORD_RESET_TIMEOUT (3 days by default).
"""

from allauth.account.forms import default_token_generator
from allauth.account.utils import user_pk_to_url_str
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.core.validators import validate_email
from django.urls import reverse

from beffroi.core.models import Membership, Organisation, User
from beffroi.core.services.staff import staff_invite


def password_link(*, user, base_url: str) -> str:
    """The link staff_invite e-mails (the token is the same for the same account state)."""
    return base_url + reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )


class Command(BaseCommand):
    help = (
        "Crée un compte d’agent rattaché à une commune (par défaut administrateur) et affiche le lien "
        "qui permet de choisir son mot de passe."
    )

    def add_arguments(self, parser):
        parser.add_argument("commune", help="identifiant de la commune (ex. : haisnes)")
        parser.add_argument("--email", required=True, help="adresse électronique de la personne")
        parser.add_argument("--first-name", default="", help="prénom")
        parser.add_argument("--last-name", default="", help="nom")
        parser.add_argument(
            "--role",
            default=Membership.Role.ADMINISTRATOR,
            choices=Membership.Role.values,
            help="rôle dans la commune (par défaut : administrator)",
        )
        parser.add_argument(
            "--base-url",
            help="adresse du site (ex. : https://haisnes.fr) ; par défaut, le nom d’hôte principal de la commune",
        )

    def handle(self, *args, commune, email, first_name, last_name, role, base_url, **options):
        organisation = Organisation.objects.filter(slug=commune).first()
        if organisation is None:
            raise CommandError(f"Aucune organisation n’a l’identifiant « {commune} ».")
        try:
            validate_email(email.strip())
        except ValidationError as exc:
            raise CommandError(f"Adresse électronique invalide : « {email} ».") from exc
        base_url = (base_url or self._default_base_url(organisation)).rstrip("/")

        existed = User.objects.filter(email__iexact=email.strip()).exists()
        mail_error = None
        try:
            staff_invite(
                actor=None,
                organisation=organisation,
                email=email,
                first_name=first_name.strip(),
                last_name=last_name.strip(),
                role=role,
                base_url=base_url,
            )
        except ValidationError as exc:
            raise CommandError(" ".join(exc.messages)) from exc
        except OSError as exc:
            # The e-mail is sent once the account is committed: the account
            # exists, only the message failed (SMTP not reachable...).
            mail_error = exc
        membership = Membership.objects.select_related("user").get(
            organisation=organisation, user__email__iexact=email.strip()
        )

        done = "Compte existant rattaché" if existed else "Compte créé"
        role_label = membership.get_role_display().lower()
        self.stdout.write(self.style.SUCCESS(f"{done} : {membership.user.email}, {role_label} de {organisation.name}."))
        if mail_error is None:
            self.stdout.write(f"Un courriel d’invitation a été envoyé à {membership.user.email}.")
        else:
            self.stdout.write(
                self.style.WARNING(f"Le courriel d’invitation n’a pas pu être envoyé ({mail_error}) : transmettez le lien.")
            )
        days = settings.PASSWORD_RESET_TIMEOUT // 86400
        self.stdout.write(f"Lien pour choisir le mot de passe (à usage unique, valable {days} jours) :")
        self.stdout.write(password_link(user=membership.user, base_url=base_url))
        self.stdout.write("À la première connexion, l’espace de gestion demande d’activer une double authentification.")

    @staticmethod
    def _default_base_url(organisation) -> str:
        domain = organisation.domains.order_by("-is_primary", "pk").first()
        if domain is None:
            raise CommandError(
                "Cette organisation n’a aucun nom d’hôte : indiquez l’adresse du site avec --base-url "
                "(ou ajoutez-en un avec add_commune --existing)."
            )
        scheme = "https" if settings.HTTPS else "http"
        return f"{scheme}://{domain.hostname}"
