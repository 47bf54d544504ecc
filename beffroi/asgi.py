"""ASGI entry point: ``uvicorn beffroi.asgi:application``."""

import os

from beffroi.edge.boot import build_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beffroi.settings")
application = build_application()
