"""Django behind other standard doors, for bench/bridge.py (``--app-dir bench``).

- ``a2wsgi_app``: Django's WSGI handler on a2wsgi's thread pool;
- ``django_asgi_app``: Django's own ASGI handler.
Neither has the edge in front (no page cache, no streams): only Django's path.
"""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "beffroi.settings")

import django  # noqa: E402

django.setup()

from a2wsgi import WSGIMiddleware  # noqa: E402
from django.conf import settings  # noqa: E402
from django.core.asgi import get_asgi_application  # noqa: E402
from django.core.wsgi import get_wsgi_application  # noqa: E402

a2wsgi_app = WSGIMiddleware(get_wsgi_application(), workers=settings.WEB_THREADS)
django_asgi_app = get_asgi_application()
