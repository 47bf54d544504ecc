"""The health check's probe of Django's thread pool.

The edge answers /_sante itself, so that path reaches Django only when the
health check sends it through the WSGI bridge: answered here, first of all
middleware, it proves that a thread of the pool was free to run Django, and
costs nothing else (no database, no template, no log line).
"""

from django.http import HttpResponse

PROBE_PATH = "/_sante"


class ThreadPoolProbeMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.path_info == PROBE_PATH:
            return HttpResponse(b"ok", content_type="text/plain")
        return self.get_response(request)
