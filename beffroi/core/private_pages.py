"""Pages for a signed-in person are never kept by a browser's or a proxy's
cache: on a shared computer (a France Services or CCAS desk), the back button
or the history must not show a beneficiary's safe or an agent's console after
they signed out."""

from django.conf import settings
from django.utils.cache import add_never_cache_headers

# Whoever asks: the sign-in pages and the spaces behind them.
PRIVATE_PREFIXES = ("/gestion/", "/compte/", "/coffre/", "/accompagnement/")


class NoStoreMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if request.path.startswith(PRIVATE_PREFIXES) or self._signed_in(request):
            add_never_cache_headers(response)
        return response

    @staticmethod
    def _signed_in(request) -> bool:
        # Without a session cookie, nobody is signed in: the session is not even
        # read (reading it would add "Vary: Cookie" to every shared page).
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return False
        user = getattr(request, "user", None)
        return user is not None and user.is_authenticated
