from django.conf import settings
from django.urls import include, path, re_path

from beffroi.api import api
from beffroi.site import views as site_views

urlpatterns = [
    path("", include("beffroi.info.urls")),
    path("", include("beffroi.site.urls")),
    path("", include("beffroi.reports.urls")),
    path("", include("beffroi.safe.urls")),
    path("api/v1/", api.urls),
    path("open311/v2/", include("beffroi.reports.open311.urls")),
    path("compte/", include("allauth.urls")),
    path("gestion/", include("beffroi.backoffice_urls")),
]

if settings.SERVE_MEDIA:
    prefix = settings.MEDIA_URL.lstrip("/")
    urlpatterns.append(re_path(rf"^{prefix}(?P<path>.*)$", site_views.media))

handler400 = site_views.bad_request
handler404 = site_views.not_found
handler500 = site_views.server_error
