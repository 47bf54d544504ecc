"""Reading a browser's push subscription sent as JSON (PushSubscription.toJSON())."""

import json


def read_push_subscription(body: bytes) -> tuple[dict, str]:
    """(endpoint and keys, "") or ({}, a French error)."""
    try:
        data = json.loads(body)
        subscription = {"endpoint": data["endpoint"], "p256dh": data["keys"]["p256dh"], "auth": data["keys"]["auth"]}
    except (ValueError, KeyError, TypeError):
        return {}, "Abonnement illisible : l’objet PushSubscription du navigateur est attendu."
    if not all(isinstance(v, str) for v in subscription.values()):
        return {}, "Abonnement illisible : l’objet PushSubscription du navigateur est attendu."
    return subscription, ""
