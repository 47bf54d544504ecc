"""Short-lived abuse counters, keyed by a hash: no IP address is stored."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _counter_key(scope: str, identity: str) -> str:
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{scope}:{identity}".encode()).hexdigest()[:32]
    return f"throttle:{scope}:{digest}"


def allow(request=None, *, scope: str, limit: int, window_seconds: int, identity: str | None = None) -> bool:
    """Count one attempt; False once ``limit`` attempts were made in the window.

    Counted per caller address (REMOTE_ADDR: behind nginx, uvicorn's
    --proxy-headers sets it), or per ``identity`` when given (an API key).
    """
    key = _counter_key(scope, identity if identity is not None else request.META.get("REMOTE_ADDR", ""))
    if cache.add(key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired in between
        cache.add(key, 1, timeout=window_seconds)
        return True
    return count <= limit
