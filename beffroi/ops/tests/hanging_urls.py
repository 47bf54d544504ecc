"""The site's URLs, plus a view that hangs until told (a stuck outside call)."""

import threading

from django.http import HttpResponse
from django.urls import path

from beffroi.urls import urlpatterns as site_patterns

entered = threading.Semaphore(0)
release = threading.Event()


def hang(request):
    entered.release()
    release.wait(30)
    return HttpResponse("libéré")


urlpatterns = [path("test/bloque/", hang), *site_patterns]
