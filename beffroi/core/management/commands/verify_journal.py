from django.core.management.base import BaseCommand, CommandError

from beffroi.core.journal_anchors import AnchorError, parse_head, verify
from beffroi.core.journal_keys import JournalKeyError


class Command(BaseCommand):
    help = (
        "Vérifie la chaîne du journal avec sa clé et contre ses ancres (fichier et stockage privé) ; "
        "nomme le premier maillon rompu."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--head",
            action="append",
            default=[],
            metavar="N:CODE",
            help="une tête connue par ailleurs (rapport quotidien), vérifiée comme une ancre",
        )

    def handle(self, *args, head, **options):
        try:
            result = verify(extra=tuple(parse_head(value) for value in head))
        except (AnchorError, JournalKeyError) as exc:
            raise CommandError(f"Vérification impossible : {exc}.") from exc
        if result.broken is not None:
            raise CommandError(
                f"Journal altéré : maillon rompu à l’entrée n° {result.broken.seq} : {result.broken.reason}."
            )
        self.stdout.write(self.style.SUCCESS(f"Journal intègre : {result.chain.checked} entrée(s) vérifiée(s)."))
        counts = result.anchors
        if result.latest is None and not head:
            self.stdout.write(
                self.style.WARNING(
                    "Aucune ancre : la suppression des dernières entrées ne peut pas être détectée "
                    "(manage.py journal_anchor)."
                )
            )
        else:
            self.stdout.write(
                f"Ancres vérifiées : {counts['file']} dans le fichier, {counts['storage']} dans le stockage privé"
                + (f", {len(head)} en ligne de commande" if head else "")
                + f" ; la plus récente atteste l’entrée n° {result.latest.seq}."
            )
