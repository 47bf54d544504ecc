from django.utils.functional import SimpleLazyObject

from beffroi.info import selectors


def public(request):
    """What every public page shows: current alerts, and where its live stream starts.

    Lazy, so that pages that do not show them make no query.
    """
    commune = getattr(request, "commune", None)
    if commune is None:
        return {}
    return {
        "current_alerts": SimpleLazyObject(lambda: list(selectors.current_alerts(commune))),
        "live_since": SimpleLazyObject(lambda: selectors.live_since(commune)),
    }
