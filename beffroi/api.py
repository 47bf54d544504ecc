"""The JSON API (version 1), described by the OpenAPI document it serves.

Every error answers in French, in one shape: ``{"detail": …, "errors": […]}``.
"""

from functools import wraps

from django.core.exceptions import RequestDataTooBig
from django.http import Http404
from django.urls import re_path
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError


class BeffroiAPI(NinjaAPI):
    """Ninja, with the same French JSON errors outside the operations too.

    Ninja answers an unknown method with an English text body and leaves
    unknown paths under the prefix to the site's HTML 404 page; clients of
    the API get the JSON error shape instead.
    """

    @property
    def urls(self):
        patterns, app_name, namespace = super().urls
        for pattern in patterns:
            view = pattern.callback
            if pattern.name == "openapi-json":
                # Ninja serves the document whatever the method.
                view = require_GET(view)
            pattern.callback = _json_errors(view)
        patterns.append(re_path(r"^.*$", _unknown_path, name="unknown"))
        return patterns, app_name, namespace


api = BeffroiAPI(
    title="API ouverte de la commune (Beffroi)",
    version="1",
    description=(
        "Publications de la commune (actualités, manifestations, travaux, alertes), agenda, "
        "panneaux d’information et abonnements aux notifications. Lecture libre, sans compte ; "
        "aucune donnée personnelle."
    ),
    urls_namespace="api",
    docs_url=None,
)


class FieldError(Schema):
    field: str
    message: str


class Error(Schema):
    detail: str
    errors: list[FieldError] = []


class ApiError(Exception):
    """An answer other than success, with its French message; views raise it."""

    def __init__(self, status: int, detail: str, *, field: str | None = None, message: str | None = None):
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.errors = [{"field": field, "message": message or detail}] if field else []


_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "int_parsing": "Nombre entier attendu.",
    "int_type": "Nombre entier attendu.",
    "int_from_float": "Nombre entier attendu.",
    "int_parsing_size": "Nombre beaucoup trop grand.",
    "greater_than_equal": "Valeur trop petite (au moins {ge}).",
    "greater_than": "Valeur trop petite (plus de {gt}).",
    "less_than_equal": "Valeur trop grande (au plus {le}).",
    "less_than": "Valeur trop grande (moins de {lt}).",
    "string_too_long": "Texte trop long (au plus {max_length} caractères).",
    "string_too_short": "Texte trop court (au moins {min_length} caractères).",
    "string_type": "Texte attendu.",
    "string_pattern_mismatch": "Format non reconnu.",
    "bool_parsing": "Valeur oui/non attendue (true ou false).",
    "bool_type": "Valeur oui/non attendue (true ou false).",
    "date_parsing": "Date invalide : utilisez la forme AAAA-MM-JJ.",
    "date_from_datetime_parsing": "Date invalide : utilisez la forme AAAA-MM-JJ.",
    "date_type": "Date invalide : utilisez la forme AAAA-MM-JJ.",
    "date_from_datetime_inexact": "Date invalide : utilisez la forme AAAA-MM-JJ.",
    "literal_error": "Valeur non permise ({expected}).",
    "enum": "Valeur non permise ({expected}).",
    "list_type": "Liste attendue.",
    "dict_type": "Objet JSON attendu.",
    "model_type": "Objet JSON attendu.",
    "model_attributes_type": "Objet JSON attendu.",
    "json_invalid": "JSON invalide.",
    "too_long": "Liste trop longue (au plus {max_length} éléments).",
    "extra_forbidden": "Champ inconnu.",
    "value_error": "{message}",
}


def french_message(error: dict) -> str:
    kind = error.get("type", "")
    context = dict(error.get("ctx") or {})
    template = _MESSAGES.get(kind, "Valeur invalide.")
    if kind in ("literal_error", "enum"):
        # Pydantic lists the choices in English: "'news', 'event' or 'alert'".
        context["expected"] = str(context.get("expected", "")).replace(" or ", " ou ")
    if kind == "value_error":
        context["message"] = str(context.get("error", error.get("msg", "Valeur invalide."))).removeprefix("Value error, ")
    try:
        return template.format(**context)
    except (KeyError, IndexError):
        return "Valeur invalide."


def _field(location) -> str:
    # ("query", "limit") → "limit"; ("body", "payload", "keys", "auth") → "keys.auth"
    parts = [str(p) for p in location[1:] if p not in ("payload", "filters")]
    return ".".join(parts) or str(location[0] if location else "")


@api.exception_handler(ValidationError)
def validation_error(request, exc):
    errors = [{"field": _field(e.get("loc", ())), "message": french_message(e)} for e in exc.errors]
    return api.create_response(
        request, {"detail": "Requête invalide : vérifiez les champs indiqués.", "errors": errors}, status=400
    )


@api.exception_handler(HttpError)
def http_error(request, exc):
    message = exc.message
    if exc.status_code == 400 and message.startswith("Cannot parse"):
        message = "Corps de requête illisible : un objet JSON est attendu."
    return api.create_response(request, {"detail": message, "errors": []}, status=exc.status_code)


@api.exception_handler(Http404)
def not_found(request, exc):
    return _not_found(request)


@api.exception_handler(ApiError)
def api_error(request, exc):
    return api.create_response(request, {"detail": exc.detail, "errors": exc.errors}, status=exc.status)


@api.exception_handler(RequestDataTooBig)
def too_big(request, exc):
    return api.create_response(request, {"detail": "Corps de requête trop volumineux.", "errors": []}, status=413)


def _not_found(request):
    return api.create_response(request, {"detail": "Ressource introuvable.", "errors": []}, status=404)


@csrf_exempt  # like Ninja's views: an unknown path is a 404 whatever the method
def _unknown_path(request, *args, **kwargs):
    return _not_found(request)


def _json_errors(view):
    """Wrap one of Ninja's URL views: French JSON for 404 and 405, HEAD like GET."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        head = request.method == "HEAD"
        if head:
            # HTTP wants HEAD wherever GET is allowed (RFC 9110, 9.3.2);
            # Ninja does not know it.
            request.method = "GET"
        try:
            response = view(request, *args, **kwargs)
        except Http404:  # from the views that are not operations (the API root)
            response = _not_found(request)
        finally:
            if head:
                request.method = "HEAD"
        if response.status_code == 405:
            allowed = {method.strip() for method in response["Allow"].split(",") if method.strip()}
            allowed = ", ".join(sorted(allowed | ({"HEAD"} if "GET" in allowed else set())))
            response = api.create_response(
                request,
                {"detail": f"Méthode {request.method} non permise ici (permises : {allowed}).", "errors": []},
                status=405,
            )
            response["Allow"] = allowed
        elif head and not response.streaming:
            response["Content-Length"] = str(len(response.content))
            response.content = b""
        return response

    return wrapper


def install_routers():
    from beffroi.info.api import router as info_router

    api.add_router("/", info_router)


install_routers()
