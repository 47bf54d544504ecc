"""One log line and the metrics of each request Django answers.

The line says what a visitor did without saying who: method, route name,
view group, status, duration, bytes, and the commune's id. Never the path or
the query string (they hold capability tokens), the client's address, its user
agent or the account. At the top of MIDDLEWARE (after the health check's
probe): it times everything below it, and sees the responses that the others
made of errors.
"""

import logging
import time

from beffroi.edge.wsgi import CONTINUE_HEADER, PREFLIGHT_ENVIRON
from beffroi.ops import metrics
from beffroi.ops.routes import route_of

logger = logging.getLogger("beffroi.request")
_CONTINUE = CONTINUE_HEADER.decode()


def _finished(request, status: int, started: float, size: int) -> None:
    seconds = time.perf_counter() - started
    group, route = route_of(request)
    method = request.method if request.method in metrics.METHODS else "other"
    metrics.count_request(group, method, status, seconds)
    commune = getattr(request, "commune", None)
    duration_ms = round(seconds * 1000, 1)
    logger.info(
        "%s %s %s %s ms",
        method,
        route,
        status,
        duration_ms,
        extra={
            "fields": {
                "method": method,
                "route": route,
                "group": group,
                "status": status,
                "duration_ms": duration_ms,
                "bytes": size,
                "commune": commune.pk if commune is not None else None,
            }
        },
    )


class _Counted:
    """A streamed response's content, counted as it leaves; the line is written
    at its end, or when the server closes it (the client went away)."""

    def __init__(self, content, request, status: int, started: float):
        self._content = iter(content)
        self._request = request
        self._status = status
        self._started = started
        self._size = 0
        self._done = False

    def __iter__(self):
        return self

    def __next__(self):
        try:
            piece = next(self._content)
        except StopIteration:
            self.close()
            raise
        self._size += len(piece)
        return piece

    def close(self) -> None:
        if not self._done:
            self._done = True
            _finished(self._request, self._status, self._started, self._size)


class RequestLogMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        if request.META.get(PREFLIGHT_ENVIRON) and response.has_header(_CONTINUE):
            # The edge asked whether to receive a large body, and may: the
            # request itself comes next (a refusal is the visitor's answer).
            return response
        if not response.streaming:
            _finished(request, response.status_code, started, len(response.content))
        elif getattr(response, "file_to_stream", None) is not None:
            # A file goes out through the server's file wrapper, in large pieces:
            # replacing its content would make Django send it 4 KiB at a time.
            size = int(response.get("Content-Length") or 0)
            response._resource_closers.append(lambda: _finished(request, response.status_code, started, size))
        elif not getattr(response, "is_async", False):
            response.streaming_content = _Counted(response.streaming_content, request, response.status_code, started)
        return response
