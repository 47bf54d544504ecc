"""Anchors: the journal's head, written outside the database.

A chain of MACs shows any change to an entry, but not the removal of the
last entries: what is left is still a valid chain. So the head (its number,
its MAC, the time, the count of entries) is written at least daily, and on
demand (``manage.py journal_anchor``), to

1. an append-only file, ``JOURNAL_ANCHOR_PATH``, one JSON object a line;
2. the private storage (S3 in production), under a dated name never
   overwritten (``journal-anchors/``);
3. the daily operator report, an e-mail to the operators
   (``beffroi/core/operator_report.py``).

``verify`` then checks the chain with the keys, that every anchor found in
(1) and (2) names an entry of the chain with the same MAC, and that the chain
is not shorter than any anchor. It cannot see entries removed after the last
anchor when that anchor is removed from both places too, nor a chain
rewritten by someone holding both the key and write access to every anchor:
the e-mail, outside the machine, is there for that (``--head``).
"""

import json
import logging
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import storages
from django.utils import timezone

from beffroi.core.journal import Break, ChainCheck, verify_chain
from beffroi.core.journal_keys import JournalKeyError
from beffroi.core.models import JournalEntry

logger = logging.getLogger(__name__)

STORAGE_DIR = "journal-anchors"
_MAC_CHARS = frozenset("0123456789abcdef")


@dataclass(frozen=True)
class Anchor:
    seq: int
    mac: str
    count: int
    at: datetime
    source: str = ""  # where it was read, for messages

    def as_json(self) -> str:
        return json.dumps(
            {"seq": self.seq, "mac": self.mac, "count": self.count, "at": self.at.astimezone(UTC).isoformat()},
            separators=(",", ":"),
        )

    def describe(self) -> str:
        return f"l’ancre du {timezone.localtime(self.at):%d/%m/%Y à %H:%M} ({self.source})"


class AnchorError(Exception):
    """An anchor could not be read (or written)."""


def head() -> Anchor | None:
    """The journal's last entry, as an anchor; None while it is empty."""
    last = JournalEntry.objects.order_by("-seq").values("seq", "mac").first()
    if last is None:
        return None
    return Anchor(last["seq"], last["mac"], JournalEntry.objects.count(), timezone.now())


def write_anchor() -> dict:
    """Write the head to the file and to the storage; say what was written
    where. Each place is tried even if the other fails."""
    anchor = head()
    if anchor is None:
        return {"seq": 0, "entries": 0}
    written = {"seq": anchor.seq, "mac": anchor.mac, "entries": anchor.count, "errors": []}
    line = anchor.as_json()
    try:
        _append_line(Path(settings.JOURNAL_ANCHOR_PATH), line)
        written["file"] = str(settings.JOURNAL_ANCHOR_PATH)
    except OSError as exc:
        logger.error("Ancre du journal : écriture du fichier %s impossible : %s", settings.JOURNAL_ANCHOR_PATH, exc)
        written["errors"].append(f"fichier {settings.JOURNAL_ANCHOR_PATH} : {exc.strerror or type(exc).__name__}")
    try:
        # The storage picks another name rather than overwrite one.
        name = f"{STORAGE_DIR}/{anchor.at.astimezone(UTC):%Y-%m-%dT%H%M%S}Z-n{anchor.seq}.json"
        written["storage"] = storages["private"].save(name, ContentFile(line.encode()))
    except Exception as exc:  # any backend's error (disk, S3, network)
        logger.exception("Ancre du journal : écriture dans le stockage privé impossible")
        written["errors"].append(f"stockage privé : {type(exc).__name__}")
    return written


def _append_line(path: Path, line: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = (line + "\n").encode()
    # O_APPEND: one write of a short line lands whole at the end, even with
    # two writers; the file may also be made append-only (chattr +a).
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        if os.write(fd, data) != len(data):
            raise OSError(f"short write to {path}")
        os.fsync(fd)
    finally:
        os.close(fd)


def parse_anchor(text: str, source: str) -> Anchor:
    try:
        doc = json.loads(text)
        seq, mac, count = doc["seq"], doc["mac"], doc["count"]
        at = datetime.fromisoformat(doc["at"])
        if not (isinstance(seq, int) and seq >= 1 and isinstance(count, int)):
            raise ValueError("seq")
        if not (isinstance(mac, str) and len(mac) == 64 and set(mac) <= _MAC_CHARS) or at.tzinfo is None:
            raise ValueError("mac")
    except (ValueError, KeyError, TypeError) as exc:
        raise AnchorError(f"ancre illisible ({source})") from exc
    return Anchor(seq, mac, count, at, source)


def parse_head(value: str) -> Anchor:
    """``N:MAC``, as the daily report gives the head."""
    seq, _, mac = value.strip().partition(":")
    if not (seq.isascii() and seq.isdigit()):
        raise AnchorError("tête attendue sous la forme « n°:code », comme dans le rapport quotidien")
    return parse_anchor(
        json.dumps({"seq": int(seq), "mac": mac.lower(), "count": int(seq), "at": timezone.now().isoformat()}),
        "donnée en ligne de commande",
    )


def read_anchors() -> tuple[list[Anchor], dict[str, int]]:
    """Every anchor of the file and of the storage, and how many each held."""
    anchors = _file_anchors(Path(settings.JOURNAL_ANCHOR_PATH))
    in_file = len(anchors)
    anchors += _storage_anchors()
    return anchors, {"file": in_file, "storage": len(anchors) - in_file}


def _file_anchors(path: Path) -> list[Anchor]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return []
    except (OSError, UnicodeDecodeError) as exc:
        raise AnchorError(f"le fichier d’ancres {path} ne peut pas être lu") from exc
    return [
        parse_anchor(line, f"{path}, ligne {number}")
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]


def _storage_anchors() -> list[Anchor]:
    storage = storages["private"]
    anchors = []
    try:
        _, names = storage.listdir(STORAGE_DIR)
        for name in sorted(names):
            path = f"{STORAGE_DIR}/{name}"
            with storage.open(path, "rb") as handle:
                anchors.append(parse_anchor(handle.read().decode("utf-8", "replace"), f"stockage privé, {path}"))
    except FileNotFoundError:
        return anchors
    except AnchorError:
        raise
    except Exception as exc:  # any backend's error (disk, S3, network)
        raise AnchorError(f"le stockage privé ne peut pas être lu ({type(exc).__name__})") from exc
    return anchors


@dataclass
class Verification:
    chain: ChainCheck
    anchors: dict[str, int]  # how many were read, per place
    latest: Anchor | None
    broken: Break | None


def verify(*, extra: tuple[Anchor, ...] = ()) -> Verification:
    """The chain, then every anchor against it (the first problem is named)."""
    anchors, counts = read_anchors()
    anchors += extra
    chain = verify_chain(wanted={a.seq for a in anchors})
    latest = max(anchors, key=lambda a: (a.seq, a.at), default=None)
    broken = chain.broken or _check_anchors(chain, anchors)
    return Verification(chain, counts, latest, broken)


def _check_anchors(chain: ChainCheck, anchors: list[Anchor]) -> Break | None:
    for anchor in sorted(anchors, key=lambda a: (a.seq, a.at)):
        if anchor.seq > chain.last_seq:
            return Break(
                chain.last_seq + 1,
                f"le journal s’arrête à l’entrée n° {chain.last_seq} alors que {anchor.describe()} atteste "
                f"l’entrée n° {anchor.seq} : des entrées finales ont été supprimées",
            )
        if chain.macs.get(anchor.seq) != anchor.mac:
            return Break(anchor.seq, f"l’entrée n° {anchor.seq} ne correspond pas à {anchor.describe()}")
    return None


def daily() -> dict:
    """The daily job's part: verify the journal against its anchors, then
    anchor its head; the result is the journal's section of the report."""
    try:
        verification = verify()
        broken = verification.broken
        state = "intègre" if broken is None else f"ROMPU, maillon n° {broken.seq} : {broken.reason}"
    except (AnchorError, JournalKeyError) as exc:
        broken, state = True, f"vérification impossible : {exc}"
    if broken:
        logger.error("Journal : %s", state)
    written = write_anchor()
    written["verification"] = state
    written["intact"] = not broken
    return written


def report_lines(result: dict) -> list[str]:
    if not result.get("entries"):
        return ["Journal vide : rien à ancrer."]
    lines = [
        f"Tête : entrée n° {result['seq']}, code {result['mac']}",
        f"Entrées : {result['entries']}",
        f"Chaîne et ancres : {result['verification']}",
    ]
    if result.get("file"):
        lines.append(f"Ancre ajoutée au fichier {result['file']}")
    if result.get("storage"):
        lines.append(f"Ancre enregistrée dans le stockage privé : {result['storage']}")
    lines += [f"ÉCHEC de l’ancre, {error}" for error in result.get("errors", [])]
    lines.append(f"Pour vérifier plus tard contre cette tête : manage.py verify_journal --head {result['seq']}:{result['mac']}")
    return lines
