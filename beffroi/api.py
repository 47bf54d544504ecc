"""The JSON API (version 1), described by the OpenAPI document it serves.

Every error answers in French, in one shape: ``{"detail": …, "errors": […]}``.
"""

from django.http import Http404
from ninja import NinjaAPI, Schema
from ninja.errors import HttpError, ValidationError

api = NinjaAPI(
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


_MESSAGES = {
    "missing": "Ce champ est obligatoire.",
    "int_parsing": "Nombre entier attendu.",
    "int_type": "Nombre entier attendu.",
    "int_from_float": "Nombre entier attendu.",
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
    template = _MESSAGES.get(error.get("type", ""), "Valeur invalide.")
    context = dict(error.get("ctx") or {})
    if error.get("type") == "value_error":
        context["message"] = str(context.get("error", error.get("msg", "Valeur invalide."))).removeprefix(
            "Value error, "
        )
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
    return api.create_response(request, {"detail": "Ressource introuvable.", "errors": []}, status=404)


def install_routers():
    from beffroi.info.api import router as info_router

    api.add_router("/", info_router)


install_routers()
