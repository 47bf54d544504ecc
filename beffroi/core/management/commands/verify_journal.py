from django.core.management.base import BaseCommand, CommandError

from beffroi.core.journal import verify


class Command(BaseCommand):
    help = "Vérifie la chaîne d’empreintes du journal et nomme le premier maillon rompu."

    def handle(self, *args, **options):
        checked, broken = verify()
        if broken is not None:
            raise CommandError(f"Journal altéré : maillon rompu à l’entrée n° {broken.seq} : {broken.reason}.")
        self.stdout.write(self.style.SUCCESS(f"Journal intègre : {checked} entrée(s) vérifiée(s)."))
