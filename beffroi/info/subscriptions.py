"""Inhabitants' Web Push subscriptions to the feed (anonymous: not journaled)."""

import secrets

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from beffroi.core.models import Sector
from beffroi.info.models import FeedSubscription, Topic
from beffroi.notify.push.validation import plausible_endpoint, validate_endpoint, validate_keys


class UnknownChoice(ValidationError):
    """A topic or sector the commune does not have (the API answers 404)."""


class SubscriptionConflict(Exception):
    """The endpoint is already subscribed with other keys."""


def _same_secret(stored: str, given: str) -> bool:
    # compare_digest refuses non-ASCII text; bytes it compares whatever they are.
    return secrets.compare_digest(stored.encode(), given.encode("utf-8", "surrogatepass"))


def _pick(model, commune, slugs: list[str], label: str):
    found = list(model.objects.filter(organisation=commune, slug__in=slugs))
    unknown = sorted(set(slugs) - {item.slug for item in found})
    if unknown:
        raise UnknownChoice(f"{label} inconnu(s) : {', '.join(unknown)}.")
    return found


def subscription_save(
    *, commune, endpoint: str, p256dh: str, auth: str, alerts: bool, topics: list[str], sectors: list[str]
) -> tuple[FeedSubscription, bool]:
    """Create or update; returns (subscription, created)."""
    validate_endpoint(endpoint)
    validate_keys(p256dh, auth)
    arguments = dict(commune=commune, endpoint=endpoint, p256dh=p256dh, auth=auth, alerts=alerts)
    try:
        return _save(**arguments, topics=topics, sectors=sectors)
    except IntegrityError:
        # The same browser subscribed twice at once (a double click): the
        # other request created the row after this one looked for it, which
        # no lock prevents. It exists now: this attempt updates it.
        return _save(**arguments, topics=topics, sectors=sectors)


@transaction.atomic
def _save(*, commune, endpoint, p256dh, auth, alerts, topics, sectors) -> tuple[FeedSubscription, bool]:
    chosen_topics = _pick(Topic, commune, topics, "Thème")
    chosen_sectors = _pick(Sector, commune, sectors, "Quartier")
    if not alerts and not chosen_topics:
        raise ValidationError("Choisissez au moins les alertes ou un thème.")
    subscription = FeedSubscription.objects.select_for_update().filter(endpoint=endpoint).first()
    created = subscription is None
    if created:
        subscription = FeedSubscription(endpoint=endpoint)
    elif not _same_secret(subscription.auth, auth):
        raise SubscriptionConflict()
    subscription.organisation = commune
    subscription.p256dh = p256dh
    subscription.auth = auth
    subscription.alerts = alerts
    subscription.save()
    subscription.topics.set(chosen_topics)
    subscription.sectors.set(chosen_sectors)
    return subscription, created


@transaction.atomic
def subscription_delete(*, commune, endpoint: str, auth: str) -> bool:
    """Delete the commune's subscription; the auth secret proves it is the subscriber's."""
    if not plausible_endpoint(endpoint):
        # Never stored; and PostgreSQL refuses NUL characters in a query.
        return False
    subscription = FeedSubscription.objects.select_for_update().filter(organisation=commune, endpoint=endpoint).first()
    if subscription is None or not _same_secret(subscription.auth, auth):
        return False
    subscription.delete()
    return True
