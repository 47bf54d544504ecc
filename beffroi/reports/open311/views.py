"""The GeoReport v2 endpoints: check the input, call one service or query, answer in the asked format.

No cookie and no session here: reading is open, filing carries an api_key,
so the API is exempt from CSRF. Every error, including an unknown path, an
unknown format or a wrong method, is the spec's error document.
"""

import re
from functools import wraps

from django.core.exceptions import BadRequest, RequestDataTooBig, SuspiciousOperation, ValidationError
from django.http.multipartparser import MultiPartParserError
from django.views.decorators.csrf import csrf_exempt

from beffroi.core.errors import faults
from beffroi.reports.open311 import documents, queries
from beffroi.reports.open311.clients import allow_request, client_for_key
from beffroi.reports.open311.formats import JSON, XML, Open311Error, document, errors, format_of
from beffroi.reports.questions import AnswerError
from beffroi.reports.services.submission import report_submit

FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")
# Allowed by the spec, accepted, and never read: nothing is stored about
# the person, and media_url is not fetched (the server makes no request
# to an address a client gives).
IGNORED_FIELDS = ("email", "device_id", "account_id", "first_name", "last_name", "phone", "media_url")
# report_submit's fields, as the spec names them.
SPEC_NAMES = {"category": "service_code", "description": "description", "address": "address_string",
              "location": "lat/long", "photos": "media"}


def endpoint(*methods: str):
    """Format from the extension (404 when unknown), methods (405), and errors in the spec's format."""
    allowed = set(methods) | ({"HEAD"} if "GET" in methods else set())
    allow_header = ", ".join(sorted(allowed))

    def decorator(view):
        @csrf_exempt
        @wraps(view)
        def wrapper(request, *args, fmt: str, **kwargs):
            chosen = format_of(fmt)
            if chosen is None:
                return errors(XML, 404, f"Format inconnu : « .{fmt[:20]} ». Formats servis : .xml et .json.")
            if request.method not in allowed:
                response = errors(
                    chosen, 405, f"Méthode {request.method} non permise ici (permises : {allow_header})."
                )
                response["Allow"] = allow_header
                return response
            try:
                response = view(request, *args, fmt=chosen, **kwargs)
            except Open311Error as exc:
                response = errors(chosen, exc.status, *exc.descriptions)
                if exc.status == 429:
                    response["Retry-After"] = "3600"
            except RequestDataTooBig:
                response = errors(chosen, 413, "Requête trop volumineuse.")
            except (SuspiciousOperation, MultiPartParserError, BadRequest):  # too many fields, broken multipart...
                response = errors(chosen, 400, "Requête illisible.")
            if request.method == "HEAD":
                response["Content-Length"] = str(len(response.content))
                response.content = b""
            return response

        return wrapper

    return decorator


@endpoint("GET")
def service_list(request, fmt):
    queries.check_jurisdiction(request.GET.get("jurisdiction_id"), request.commune)
    return document(fmt, "services", [documents.service(c) for c in queries.services(request.commune)])


@endpoint("GET")
def service_definition(request, fmt, service_code):
    queries.check_jurisdiction(request.GET.get("jurisdiction_id"), request.commune)
    category = queries.service(request.commune, service_code)
    return document(fmt, "service_definition", documents.service_definition(category))


@endpoint("GET", "POST")
def service_requests(request, fmt):
    if request.method == "POST":
        return _file(request, fmt)
    queries.check_jurisdiction(request.GET.get("jurisdiction_id"), request.commune)
    reports = queries.search(request.commune, request.GET)
    return _requests(request, fmt, reports)


@endpoint("GET")
def service_request(request, fmt, service_request_id):
    queries.check_jurisdiction(request.GET.get("jurisdiction_id"), request.commune)
    code = queries.request_code(service_request_id)
    report = queries.public_reports(request.commune).filter(code=code).first() if code else None
    if report is None:
        raise Open311Error(404, f"Aucun signalement public n’a le numéro « {service_request_id[:20]} » dans cette commune.")
    return _requests(request, fmt, [report])


@endpoint("GET")
def service_request_id_from_token(request, fmt, token):
    """Requests get their id at once (type realtime): no token is ever issued."""
    queries.check_jurisdiction(request.GET.get("jurisdiction_id"), request.commune)
    raise Open311Error(
        404, "Jeton inconnu : ce serveur ne délivre pas de jeton, le numéro du signalement (service_request_id) "
        "est donné dès le dépôt."
    )


@csrf_exempt
def unknown(request, path=""):
    fmt = JSON if path.lower().endswith(".json") else XML
    return errors(fmt, 404, "Ressource inconnue. Points d’entrée : services, services/<service_code>, requests, "
                  "requests/<service_request_id>, tokens/<token>, suivis de .xml ou .json.")


def _requests(request, fmt, reports):
    items = [documents.request(report, absolute_uri=request.build_absolute_uri) for report in reports]
    return document(fmt, "service_requests", items)


def _file(request, fmt):
    """POST requests: one report filed through report_submit, exactly as from the web form."""
    if request.content_type not in FORM_TYPES:
        raise Open311Error(400, "Corps attendu au format application/x-www-form-urlencoded (ou multipart/form-data).")
    data = request.POST
    client = client_for_key(data.get("api_key", ""), request.commune)
    if client is None:
        missing = not data.get("api_key")
        raise Open311Error(403, "api_key manquante." if missing else "api_key invalide ou désactivée pour cette commune.")
    if not allow_request(client):
        raise Open311Error(429, "Trop de signalements déposés avec cette clé : réessayez dans une heure.")
    queries.check_jurisdiction(data.get("jurisdiction_id"), request.commune)
    category = queries.service(request.commune, data.get("service_code"))
    latitude = queries.coordinate("lat", data.get("lat"))
    longitude = queries.coordinate("long", data.get("long"))
    address = data.get("address_string", "")
    if latitude is None and longitude is None and not address.strip() and data.get("address_id", "").strip():
        raise Open311Error(400, "address_id n’est pas pris en charge : indiquez lat et long, ou address_string.")
    try:
        submission = report_submit(
            commune=request.commune, category=category, description=data.get("description", ""),
            latitude=latitude, longitude=longitude, address=address, answers=_attributes(data),
        )
    except AnswerError as exc:
        raise Open311Error(400, *(f"attribute[{code}] : {m}" if code else m for code, m in faults(exc))) from None
    except ValidationError as exc:
        raise Open311Error(400, *_described(exc)) from None
    filed = documents.filed(submission.report, media_ignored=bool(data.get("media_url", "").strip()))
    return document(fmt, "service_requests", [filed])


ATTRIBUTE = re.compile(r"attribute\[([^\[\]]{1,60})\](\[\])?")


def _attributes(data) -> dict[str, list[str]]:
    """``attribute[code]=value`` and, for a multiple choice, ``attribute[code][]=key`` repeated."""
    answers: dict[str, list[str]] = {}
    for name in data:
        match = ATTRIBUTE.fullmatch(name)
        if match is not None:
            answers.setdefault(match[1], []).extend(data.getlist(name))
        elif name.startswith("attribute"):
            raise Open311Error(400, f"Paramètre illisible : « {name[:60]} ». Écrivez attribute[code]=valeur.")
    return answers


def _described(exc: ValidationError) -> list[str]:
    """Each fault named with the Open311 parameter it is about."""
    return [f"{SPEC_NAMES.get(field, field)} : {message}" if field else message for field, message in faults(exc)]
