"""Development and test backend: each SMS is appended to a file, one JSON object a line."""

import fcntl
import json
import uuid
from pathlib import Path

from django.conf import settings
from django.utils import timezone

from beffroi.notify.sms.base import BaseBackend, Outgoing


class FileBackend(BaseBackend):
    def __init__(self, *, path: Path, sender: str = ""):
        super().__init__(sender=sender)
        self.path = Path(path)

    @classmethod
    def from_settings(cls) -> "FileBackend":
        return cls(path=settings.SMS_FILE_PATH, sender=settings.SMS_SENDER)

    async def send(self, message: Outgoing) -> str:
        provider_id = f"file-{uuid.uuid4().hex[:12]}"
        record = {
            "id": provider_id,
            "tag": message.tag,
            "to": message.to,
            "sender": self.sender,
            "text": message.text,
            "at": timezone.now().isoformat(),
        }
        line = (json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("ab+") as handle:
            # Several workers may append at once: one whole line each.
            fcntl.flock(handle, fcntl.LOCK_EX)
            if handle.seek(0, 2) > 0:
                handle.seek(-1, 2)
                if handle.read(1) != b"\n":
                    line = b"\n" + line  # after a line cut short by a killed process
            handle.write(line)
            handle.flush()
        return provider_id

    async def lookup(self, tag: str) -> str | None:
        for record in self.records():
            if record.get("tag") == tag:
                return record["id"]
        return None

    def records(self) -> list[dict]:
        if not self.path.exists():
            return []
        records = []
        with self.path.open(encoding="utf-8") as handle:
            for line in handle:
                try:
                    records.append(json.loads(line))
                except ValueError:
                    continue  # a line cut short by a killed process: that send did not finish
        return records
