"""Pages and files of the site itself: PWA, legal pages, API documentation, errors."""

from django.conf import settings
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import render
from django.templatetags.static import static
from django.urls import reverse
from django.views.decorators.cache import cache_control
from django.views.static import serve

from beffroi.api import api
from beffroi.edge.marks import shared_page
from beffroi.site.icons import ICON_SIZES, coat_of_arms_icon, initial_icon


@shared_page
def manifest(request):
    commune = request.commune
    data = {
        "name": f"{commune.name} — ma commune",
        "short_name": commune.name[:12],
        "description": f"Les informations de {commune.name} en temps réel : actualités, agenda, travaux, alertes.",
        "lang": "fr",
        "dir": "ltr",
        "start_url": "/?source=app",
        "scope": "/",
        "display": "standalone",
        "background_color": "#ffffff",
        "theme_color": commune.brand_colour,
        "icons": [
            {"src": reverse("site:icon", kwargs={"size": size}), "sizes": f"{size}x{size}", "type": "image/png", "purpose": "any"}
            for size in ICON_SIZES
        ],
    }
    return JsonResponse(data, content_type="application/manifest+json", json_dumps_params={"ensure_ascii": False})


@cache_control(max_age=86400)
def icon(request, size: int):
    if size not in ICON_SIZES:
        raise Http404("Taille d’icône inconnue.")
    commune = request.commune
    if commune.coat_of_arms:
        with commune.coat_of_arms.open("rb") as handle:
            data = coat_of_arms_icon(handle.read(), size)
    else:
        data = initial_icon(commune.name, commune.brand_colour, size)
    return HttpResponse(data, content_type="image/png")


@shared_page
def service_worker(request):
    shell = [
        "/",
        reverse("site:offline"),
        static("site/beffroi.css"),
        static("site/live.js"),
        static("site/push.js"),
    ]
    response = render(
        request, "site/sw.js", {"shell": shell, "version": static("site/beffroi.css")}, content_type="application/javascript"
    )
    response["Cache-Control"] = "no-cache"
    return response


@shared_page
def offline(request):
    return render(request, "site/offline.html")


@shared_page
def legal_page(request, template: str):
    return render(request, f"site/{template}.html")


@shared_page
def api_docs(request):
    schema = api.get_openapi_schema()
    operations = [
        {
            "method": method.upper(),
            "path": "/api/v1" + path if not path.startswith("/api") else path,
            "summary": operation.get("summary", ""),
            "description": operation.get("description", ""),
            "parameters": operation.get("parameters", []),
        }
        for path, methods in schema["paths"].items()
        for method, operation in methods.items()
    ]
    return render(request, "site/api_docs.html", {"schema": schema, "operations": operations})


def media(request, path):
    """Uploaded public files, when no web server or object store serves them
    (embedded default). Reads MEDIA_ROOT at each request, not at start-up."""
    response = serve(request, path, document_root=settings.MEDIA_ROOT)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


def csrf_failure(request, reason=""):
    return render(request, "site/csrf_failure.html", status=403)


def not_found(request, exception=None):
    return render(request, "site/404.html", status=404)


def server_error(request):
    return render(request, "site/500.html", status=500)


def bad_request(request, exception=None):
    return render(request, "site/400.html", status=400)
