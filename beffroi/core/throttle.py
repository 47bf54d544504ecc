"""Short-lived abuse counters, keyed by a hash: no IP address is stored."""

import hashlib

from django.conf import settings
from django.core.cache import cache


def _client_key(request, scope: str) -> str:
    # REMOTE_ADDR only: behind nginx, uvicorn's --proxy-headers sets it.
    address = request.META.get("REMOTE_ADDR", "")
    digest = hashlib.sha256(f"{settings.SECRET_KEY}:{scope}:{address}".encode()).hexdigest()[:32]
    return f"throttle:{scope}:{digest}"


def allow(request, *, scope: str, limit: int, window_seconds: int) -> bool:
    """Count one attempt; False once ``limit`` attempts were made in the window."""
    key = _client_key(request, scope)
    if cache.add(key, 1, timeout=window_seconds):
        return True
    try:
        count = cache.incr(key)
    except ValueError:  # expired in between
        cache.add(key, 1, timeout=window_seconds)
        return True
    return count <= limit
