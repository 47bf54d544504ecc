"""How much a safe may hold.

Anyone may open a safe, from anywhere: until its owner has verified a mobile
number or an organisation accompanies it, it holds only
``SAFE_UNVERIFIED_QUOTA_MB`` (disk is what a flood of empty accounts would
cost the town); then its full quota.
"""

from django.conf import settings

from beffroi.safe.models import MB, Link, Safe


def is_limited(safe: Safe) -> bool:
    """Neither a verified mobile nor an active link."""
    if safe.phone_verified_at is not None:
        return False
    return not Link.objects.filter(safe_id=safe.pk, status=Link.Status.ACTIVE).exists()


def quota_bytes(safe: Safe) -> int:
    if is_limited(safe):
        return min(safe.quota_bytes, settings.SAFE_UNVERIFIED_QUOTA_MB * MB)
    return safe.quota_bytes


def room_bytes(safe: Safe) -> int:
    """Space left (never negative: a safe may hold more than a quota lowered since)."""
    return max(0, quota_bytes(safe) - safe.used_bytes)
