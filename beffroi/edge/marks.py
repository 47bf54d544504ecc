"""The Django side of the page cache: which responses may be shared.

A view decorated with ``@shared_page`` (or ``@shared_page(params=("page",
"theme"))``) renders the same bytes for every anonymous visitor of a commune
and the same declared query parameters: it sees only those (``request.GET``
and the query string are cut down to them), so that the edge may key the page
on them alone and ``?x=1``, ``?x=2``… stay one page. When the edge asked for
it (and only then), the middleware tells it so, with the CSP nonce the page
used and the parameters.
"""

from functools import wraps

from django.conf import settings
from django.http import QueryDict

from beffroi.edge.pagecache import CAPTURE_HEADER, shared_query

_CAPTURE_META = "HTTP_" + CAPTURE_HEADER[0].decode().upper().replace("-", "_")


def shared_page(view=None, *, params: tuple[str, ...] = ()):
    params = tuple(params)

    def decorate(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            query = shared_query(request.META.get("QUERY_STRING", ""), params)
            if query is None:  # unreadable: the view sees none, and the edge keeps nothing
                query = ""
            else:
                request.edge_shared = True
                request.edge_params = params
            request.META["QUERY_STRING"] = query
            request.GET = QueryDict(query)
            return view(request, *args, **kwargs)

        return wrapper

    return decorate(view) if view is not None else decorate


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
            response["X-Edge-Params"] = ",".join(request.edge_params)
            nonce = getattr(request, "csp_nonce", None)
            if nonce is not None and nonce.value is not None:
                response["X-Edge-Nonce"] = nonce.value
        return response
