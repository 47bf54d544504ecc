"""« Mes données »: everything in the safe, as one ZIP streamed as it is made.

Original files (decrypted as they are zipped, never written to disk in
clear), contacts, notes and appointments as JSON and CSV, the safe's journal,
and a manifest with each document's SHA-256. The archive is built in memory
piece by piece (zip64 with data descriptors: no seeking), so its size does not
matter.
"""

import csv
import io
import json
import zipfile

from django.utils import timezone

from beffroi.safe.crypto import decrypt_stream
from beffroi.safe.events import readable
from beffroi.safe.keys import document_key
from beffroi.safe.models import Appointment, Contact, Note, SafeEvent
from beffroi.safe.names import clean_name
from beffroi.safe.presenters import folder_tree
from beffroi.safe.services.documents import document_name, open_stored
from beffroi.safe.services.records import FIELDS, read
from beffroi.safe.uploads import EXTENSIONS

README = """Export de votre coffre-fort numérique ({date})

- documents/ : vos documents, tels que vous les avez déposés, rangés par dossier ;
- contacts, notes, rendez-vous : en JSON (pour une autre application) et en CSV (pour un tableur) ;
- journal : chaque accès et chaque modification de votre coffre ;
- manifeste.json : l’empreinte SHA-256 de chaque document, pour vérifier qu’il n’a pas changé.
"""


class _Pipe:
    """A write-only file whose content is taken out as it comes."""

    def __init__(self):
        self.buffer = bytearray()

    def write(self, data) -> int:
        self.buffer += data
        return len(data)

    def flush(self) -> None:
        pass

    def take(self) -> bytes:
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


def _unique(path: str, used: set[str]) -> str:
    stem, dot, extension = path.rpartition(".")
    candidate, n = path, 2
    while candidate.lower() in used:
        candidate = f"{stem} ({n}).{extension}" if dot else f"{path} ({n})"
        n += 1
    used.add(candidate.lower())
    return candidate


def _clean(part: str) -> str:
    part = clean_name(part)
    return "".join("_" if c in '/\\:*?"<>|' else c for c in part).strip(". ") or "sans nom"


def _csv(rows: list[dict], columns: list[str]) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns, delimiter=";", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return ("\ufeff" + out.getvalue()).encode()


def _records(safe, key) -> dict[str, list[dict]]:
    contacts = [read(c, key) for c in Contact.objects.filter(safe=safe).select_related("safe")]
    notes = [read(n, key) for n in Note.objects.filter(safe=safe).select_related("safe")]
    appointments = [
        {"starts_at": timezone.localtime(a.starts_at).isoformat(), **read(a, key),
         "reminders_minutes_before": a.reminder_offsets}
        for a in Appointment.objects.filter(safe=safe).select_related("safe")
    ]
    return {"contacts": contacts, "notes": notes, "rendez-vous": appointments}


def export_zip(safe, key):
    """Yield the archive's bytes."""
    pipe = _Pipe()
    archive = zipfile.ZipFile(pipe, "w", compression=zipfile.ZIP_DEFLATED, allowZip64=True)
    now = timezone.localtime()
    archive.writestr("LISEZMOI.txt", README.format(date=now.strftime("%d/%m/%Y %H:%M")))
    paths = dict(folder_tree(safe, key))
    used: set[str] = set()
    manifest = []
    for document in safe.documents.select_related("safe").order_by("created_at"):
        name = _clean(document_name(document, key))
        extension = EXTENSIONS.get(document.content_type, "bin")
        if not name.lower().endswith("." + extension):
            name = f"{name}.{extension}"
        folder = "/".join(_clean(p) for p in paths[document.folder_id].split(" › ")) + "/" if document.folder_id else ""
        path = _unique(f"documents/{folder}{name}", used)
        doc_key = document_key(key, document)
        info = zipfile.ZipInfo(path, date_time=timezone.localtime(document.created_at).timetuple()[:6])
        info.compress_type = zipfile.ZIP_STORED if document.content_type != "application/pdf" else zipfile.ZIP_DEFLATED
        with open_stored(document.storage_name) as source, archive.open(info, "w", force_zip64=True) as out:
            for chunk in decrypt_stream(source, key=doc_key, context=document.context()):
                out.write(chunk)
                yield pipe.take()
        manifest.append({"fichier": path, "sha256": document.sha256, "taille": document.size,
                         "déposé_le": timezone.localtime(document.created_at).isoformat(),
                         "expire_le": document.expires_on.isoformat() if document.expires_on else None})
        yield pipe.take()
    for kind, rows in _records(safe, key).items():
        columns = (["starts_at"] if kind == "rendez-vous" else []) + list(
            FIELDS["appointment" if kind == "rendez-vous" else kind.rstrip("s")]
        )
        archive.writestr(f"{kind}.json", json.dumps(rows, ensure_ascii=False, indent=2))
        archive.writestr(f"{kind}.csv", _csv(rows, columns))
    journal = [
        {"quand": timezone.localtime(r["at"]).isoformat(), "qui": r["who"], "quoi": r["what"], "élément": r["item"]}
        for r in readable(SafeEvent.objects.filter(safe=safe).order_by("seq"), safe=safe, key=key)
    ]
    archive.writestr("journal.json", json.dumps(journal, ensure_ascii=False, indent=2))
    archive.writestr("journal.csv", _csv(journal, ["quand", "qui", "quoi", "élément"]))
    archive.writestr("manifeste.json", json.dumps(manifest, ensure_ascii=False, indent=2))
    archive.close()
    yield pipe.take()
