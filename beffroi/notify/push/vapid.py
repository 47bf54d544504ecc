"""The server's VAPID identity (RFC 8292) and the signed headers it sends.

The private key comes from ``VAPID_PRIVATE_KEY`` (or ``VAPID_PRIVATE_KEY_FILE``);
the embedded default generates one under ``var/secrets``. A signature is valid
for the whole push service (its origin), so it is made once per origin and
reused for twelve hours rather than for every message.
"""

import os
import threading
import time
from functools import lru_cache
from urllib.parse import urlsplit

from cryptography.hazmat.primitives import serialization
from django.conf import settings
from py_vapid import Vapid02, b64urlencode

SIGNATURE_LIFETIME = 12 * 3600
_signatures: dict[str, tuple[float, str]] = {}
_lock = threading.Lock()


@lru_cache(maxsize=1)
def identity() -> Vapid02:
    if settings.VAPID_PRIVATE_KEY:
        return Vapid02.from_pem(settings.VAPID_PRIVATE_KEY.encode())
    path = settings.VAR_DIR / "secrets" / "vapid.pem"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        key = Vapid02()
        key.generate_keys()
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(key.private_pem())
    return Vapid02.from_file(str(path))


def application_server_key() -> str:
    """The public key browsers subscribe with (base64url, uncompressed point)."""
    raw = identity().public_key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint)
    return b64urlencode(raw)


def authorization(endpoint: str) -> str:
    parts = urlsplit(endpoint)
    origin = f"{parts.scheme}://{parts.netloc}"
    now = time.time()
    cached = _signatures.get(origin)
    if cached and cached[0] > now + 60:
        return cached[1]
    expires = int(now) + SIGNATURE_LIFETIME
    header = identity().sign({"aud": origin, "sub": settings.VAPID_SUBJECT, "exp": expires})["Authorization"]
    with _lock:
        _signatures[origin] = (expires, header)
    return header
