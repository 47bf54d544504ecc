"""Abuse limits of the public forms and APIs: "N per window" per client or per key.

The counting (exact and atomic across processes, fixed windows opened by the
first attempt, keyed hashes: no address stored) is ``beffroi.core.counters``.
"""

from datetime import datetime

from beffroi.core import counters


def allow(
    request=None,
    *,
    scope: str,
    limit: int,
    window_seconds: int,
    identity: str | None = None,
    now: datetime | None = None,
) -> bool:
    """Count one attempt; False once ``limit`` attempts were made in the window.

    Counted per caller (its IPv4 address or IPv6 /64, from REMOTE_ADDR: behind
    nginx, uvicorn's --proxy-headers sets it), or per ``identity`` when given
    (an API key, a user name). The window opens at the first attempt and lasts
    ``window_seconds``; refused attempts do not extend it.
    """
    who = f"id:{identity}" if identity is not None else f"ip:{counters.client_network(request)}"
    return counters.hit(counters.digest(f"throttle:{scope}", who), window_seconds=window_seconds, now=now) <= limit
