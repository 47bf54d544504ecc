"""Log lines: plain for a terminal (``make run``), JSON for production.

The JSON line is built from a whitelist: time, level, logger, message,
exception, and the ``fields`` a caller passes on purpose (the request line's).
Django attaches the request object to some records; it is never written, since
its path may hold a capability token (a report's follow link). This module
imports nothing from Django: uvicorn's supervisor loads it before the app
(``deploy/uvicorn-logging.json``).
"""

import json
import logging
import os
from datetime import UTC, datetime

PLAIN_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
FORMATS = ("plain", "json")


class JsonFormatter(logging.Formatter):
    """One JSON object a line."""

    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            for name, value in fields.items():
                line.setdefault(name, value)
        if record.exc_info:
            line["exception"] = self.formatException(record.exc_info)
        if record.stack_info:
            line["stack"] = self.formatStack(record.stack_info)
        return json.dumps(line, ensure_ascii=False, default=str)


def formatter_from_environment() -> logging.Formatter:
    """The formatter LOG_FORMAT names, for configurations read before Django's
    settings (uvicorn's ``--log-config``)."""
    if os.environ.get("LOG_FORMAT", "plain") == "json":
        return JsonFormatter()
    return logging.Formatter(PLAIN_FORMAT)


class HidePaths(logging.Filter):
    """Django names the request's path in some lines ("Internal Server Error:
    /suivi/<token>/", CSRF failures): write the route's name instead."""

    def filter(self, record: logging.LogRecord) -> bool:
        request = getattr(record, "request", None)
        path = getattr(request, "path", None)
        if isinstance(path, str) and len(path) > 1:
            message = record.getMessage()
            if path in message:
                from beffroi.ops.routes import route_of  # Django's URL resolver: loaded with the app

                record.msg = message.replace(path, route_of(request)[1])
                record.args = None
        return True

