"""The site's URLs, plus a view that fails on a path holding a capability token."""

from django.urls import path

from beffroi.urls import urlpatterns as site_patterns


def fail(request, token):
    raise RuntimeError("une panne")


urlpatterns = [path("suivi/<str:token>/panne/", fail, name="panne"), *site_patterns]
