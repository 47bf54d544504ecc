"""The Django side of the page cache: which responses may be shared.

A view decorated with ``@shared_page`` renders the same bytes for every
anonymous visitor of a commune. When the edge asked for it (and only then),
the middleware tells it so, with the CSP nonce the page used.
"""

from functools import wraps

from django.conf import settings

from beffroi.edge.pagecache import CAPTURE_HEADER

_CAPTURE_META = "HTTP_" + CAPTURE_HEADER[0].decode().upper().replace("-", "_")


def shared_page(view):
    @wraps(view)
    def wrapper(request, *args, **kwargs):
        request.edge_shared = True
        return view(request, *args, **kwargs)

    return wrapper


class SharedPageMiddleware:
    """Placed before the CSP middleware, so that it sees the nonce once it is set."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if (
            getattr(request, "edge_shared", False)
            and request.META.get(_CAPTURE_META) == "1"
            and response.status_code == 200
            and settings.SESSION_COOKIE_NAME not in request.COOKIES
            and getattr(request, "commune", None) is not None
        ):
            response["X-Edge-Shared"] = str(request.commune.pk)
            nonce = getattr(request, "csp_nonce", None)
            if nonce is not None and nonce.value is not None:
                response["X-Edge-Nonce"] = nonce.value
        return response
