from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from allauth.mfa.utils import decrypt
from django.core.management.base import BaseCommand, CommandError

from beffroi.core.models import User


class Command(BaseCommand):
    help = "Affiche le code TOTP actuel d’un compte de démonstration (pour se connecter sans application)."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        user = User.objects.filter(email__iexact=email, username__endswith=".demo").first()
        if user is None:
            raise CommandError("Ce code n’est disponible que pour les comptes de démonstration (…@….demo).")
        authenticator = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).first()
        if authenticator is None:
            raise CommandError("Ce compte n’a pas de TOTP.")
        secret = decrypt(authenticator.data["secret"])
        counter = next(yield_hotp_counters_from_time())
        self.stdout.write(format_hotp_value(hotp_value(secret, counter)))
