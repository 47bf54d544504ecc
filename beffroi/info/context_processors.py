from django.utils.functional import SimpleLazyObject

from beffroi.info import selectors


def public(request):
    """What every public page shows: current alerts, and where its live stream starts.

    The alerts are lazy: a page whose alert fragment is cached runs no query.
    """
    commune = getattr(request, "commune", None)
    if commune is None:
        return {}
    return {
        "current_alerts": SimpleLazyObject(lambda: list(selectors.current_alerts(commune))),
        "live_since": selectors.live_since(commune),
    }
