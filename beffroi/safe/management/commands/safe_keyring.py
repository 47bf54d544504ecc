from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from beffroi.safe import keys
from beffroi.safe.crypto import Keyring, KeyringError
from beffroi.safe.models import Safe
from beffroi.safe.services.deletion import keyring_rotate, rewrap_safe_keys, shred_retired_keys


class Command(BaseCommand):
    help = "Trousseau des coffres-forts : create (une fois), status, rotate (nouvelle clé, coffres rechiffrés), shred."

    def add_arguments(self, parser):
        parser.add_argument("action", choices=["create", "status", "rotate", "shred"])

    def handle(self, *args, action, **options):
        try:
            if action == "create":
                Keyring.create(settings.SAFE_KEYRING_PATH)
                self.stdout.write(self.style.SUCCESS(f"Trousseau créé : {settings.SAFE_KEYRING_PATH} (mode 0600). "
                                                     "Gardez-le hors des sauvegardes de la base et des fichiers."))
                return
            ring = keys.keyring()
            if action == "rotate":
                new = keyring_rotate(actor=None)
                self.stdout.write(f"Nouvelle clé courante : {new} ; coffres rechiffrés : {rewrap_safe_keys()}.")
            elif action == "shred":
                self.stdout.write(str(shred_retired_keys()))
            counts = {kek: Safe.objects.filter(kek_id=kek).count() for kek in ring.key_ids}
            self.stdout.write(f"Clé courante : {ring.current_id}")
            for kek, count in counts.items():
                self.stdout.write(f"  {kek} : {count} coffre(s)")
        except KeyringError as exc:
            raise CommandError(str(exc)) from exc
