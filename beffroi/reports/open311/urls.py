"""/open311/v2/…: the GeoReport v2 resources, each as <name>.xml or <name>.json."""

from django.urls import re_path

from beffroi.reports.open311 import views

app_name = "open311"

FORMAT = r"\.(?P<fmt>[^/.]+)$"

urlpatterns = [
    re_path(r"^services" + FORMAT, views.service_list, name="services"),
    re_path(r"^services/(?P<service_code>[^/]+?)" + FORMAT, views.service_definition, name="service"),
    re_path(r"^requests" + FORMAT, views.service_requests, name="requests"),
    re_path(r"^requests/(?P<service_request_id>[^/]+?)" + FORMAT, views.service_request, name="request"),
    re_path(r"^tokens/(?P<token>[^/]+?)" + FORMAT, views.service_request_id_from_token, name="token"),
    # Anything else under the prefix: the spec's 404, not the site's HTML page.
    re_path(r"^(?P<path>.*)$", views.unknown, name="unknown"),
]
