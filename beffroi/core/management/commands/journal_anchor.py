from django.core.management.base import BaseCommand, CommandError

from beffroi.core.journal_anchors import write_anchor


class Command(BaseCommand):
    help = "Écrit la tête du journal (n°, code, date, nombre d’entrées) dans le fichier d’ancres et le stockage privé."

    def handle(self, *args, **options):
        written = write_anchor()
        if not written["entries"]:
            self.stdout.write("Journal vide : rien à ancrer.")
            return
        self.stdout.write(f"Tête : entrée n° {written['seq']}, code {written['mac']} ({written['entries']} entrées).")
        if written.get("file"):
            self.stdout.write(f"Ancre ajoutée au fichier {written['file']}.")
        if written.get("storage"):
            self.stdout.write(f"Ancre enregistrée dans le stockage privé : {written['storage']}.")
        if written["errors"]:
            raise CommandError("Ancre incomplète : " + " ; ".join(written["errors"]) + ".")
