"""JSON API of the information feed."""

import json
import re
from datetime import date, datetime
from functools import wraps
from typing import Annotated, Literal

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from pydantic import AfterValidator, BeforeValidator, TypeAdapter

from beffroi.api import ApiError, Error
from beffroi.core import throttle
from beffroi.core.errors import faults
from beffroi.core.fragments import fragments
from beffroi.core.models import Sector
from beffroi.edge.marks import shared_page
from beffroi.info import selectors
from beffroi.info.models import Screen, Topic
from beffroi.info.panels import panel_content
from beffroi.info.presenters import post_data
from beffroi.info.subscriptions import SubscriptionConflict, UnknownChoice, subscription_delete, subscription_save
from beffroi.notify.push import vapid
from beffroi.notify.push.validation import endpoint_pattern

router = Router()

Kind = Literal["news", "event", "works", "alert"]
SLUG_PATTERN = r"^[-a-zA-Z0-9_]+$"
SlugText = Annotated[str, Field(max_length=80, pattern=SLUG_PATTERN)]


def _slug_filter(example: str, description: str):
    return Field(None, max_length=80, pattern=SLUG_PATTERN, examples=[example], description=description)


TopicFilter = _slug_filter("culture", "Identifiant d’un thème (voir /topics).")
SectorFilter = _slug_filter(
    "centre", "Identifiant d’un quartier (voir /sectors) ; les publications pour toute la commune en font partie."
)


class PostOut(Schema):
    id: int
    kind: Kind
    kind_label: str
    title: str
    summary: str
    url: str
    topic: str | None
    sectors: list[str]
    level: Literal["info", "warning", "danger"] | None
    level_label: str | None
    place: str | None
    traffic: str | None
    traffic_label: str | None
    starts_at: datetime | None
    ends_at: datetime | None
    published_at: datetime | None
    expires_at: datetime | None
    image: str | None
    image_alt: str | None


class PostDetailOut(PostOut):
    body: str = Field(description="Texte en Markdown simple.")


class PostPage(Schema):
    count: int
    items: list[PostOut]


class TopicOut(Schema):
    slug: str
    name: str


class SectorOut(Schema):
    slug: str
    name: str
    area: dict = Field(description="Périmètre GeoJSON (Polygon ou MultiPolygon).")


class PanelOut(Schema):
    name: str
    commune: str
    slide_seconds: int
    alerts: list[PostOut]
    items: list[PostOut]


class FeedFilters(Schema):
    kind: Kind | None = None
    topic: str | None = TopicFilter
    sector: str | None = SectorFilter
    limit: int = Field(20, ge=1, le=50)
    offset: int = Field(0, ge=0, le=10_000)


AGENDA_FIRST_DAY = date(1900, 1, 1)
AGENDA_LAST_DAY = date(2999, 12, 31)
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _iso_date_only(value):
    # Pydantic would also read "0" or "1700000000" as timestamps.
    if isinstance(value, str) and not _ISO_DATE.fullmatch(value):
        raise ValueError("Date invalide : utilisez la forme AAAA-MM-JJ.")
    return value


def _within_agenda_years(value: date) -> date:
    # The period becomes datetimes, which end at year 9999 (and begin at 1).
    if value < AGENDA_FIRST_DAY:
        raise ValueError(f"Date trop ancienne (au plus tôt le {AGENDA_FIRST_DAY:%d/%m/%Y}).")
    if value > AGENDA_LAST_DAY:
        raise ValueError(f"Date trop lointaine (au plus tard le {AGENDA_LAST_DAY:%d/%m/%Y}).")
    return value


AgendaDay = Annotated[date, BeforeValidator(_iso_date_only), AfterValidator(_within_agenda_years)]


class AgendaFilters(Schema):
    start: AgendaDay | None = Field(
        None,
        description="Premier jour (AAAA-MM-JJ, de 1900 à 2999) ; par défaut aujourd’hui.",
        json_schema_extra={"pattern": r"^(19|2[0-9])[0-9]{2}-[0-9]{2}-[0-9]{2}$"},
    )
    days: int = Field(31, ge=1, le=93)
    topic: str | None = TopicFilter
    sector: str | None = SectorFilter


def public_read(response_type):
    """A GET of public data, serialized once per commune and last public event.

    Kept in the process's fragment store (beffroi.core.fragments), like the
    pages' fragments: a publication changes the key in every process at once.
    Errors (ApiError) are raised before anything is kept.
    """
    adapter = TypeAdapter(response_type)

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            # Keyed on what the view was given (validated filters), not on the
            # query string as sent: "?limit=20", "?x=1" and "" are one entry.
            given = {name: value.dict() if isinstance(value, Schema) else value for name, value in kwargs.items()}
            key = ("api", request.commune.pk, selectors.live_since(request.commune), view.__name__,
                   json.dumps(given, sort_keys=True, default=str))

            def build():
                return adapter.dump_json(adapter.validate_python(view(request, *args, **kwargs)))

            return HttpResponse(fragments.get_or_build(key, build), content_type="application/json; charset=utf-8")

        return wrapper

    return decorator


def _topic_and_sector(commune, topic_slug, sector_slug):
    topic = sector = None
    if topic_slug:
        topic = Topic.objects.filter(organisation=commune, slug=topic_slug).first()
        if topic is None:
            raise ApiError(404, "Thème inconnu.", field="topic", message="Aucun thème ne porte cet identifiant.")
    if sector_slug:
        sector = Sector.objects.filter(organisation=commune, slug=sector_slug).first()
        if sector is None:
            raise ApiError(404, "Quartier inconnu.", field="sector", message="Aucun quartier ne porte cet identifiant.")
    return topic, sector


@router.get("/posts", response={200: PostPage, 400: Error, 404: Error}, summary="Publications visibles", tags=["Publications"])
@shared_page(params=tuple(FeedFilters.model_fields))
@public_read(PostPage)
def list_posts(request, filters: Query[FeedFilters]):
    """Publications en cours, les plus récentes d’abord ; ``topic`` et ``sector`` sont des identifiants."""
    topic, sector = _topic_and_sector(request.commune, filters.topic, filters.sector)
    posts = selectors.public_posts(request.commune, kind=filters.kind, topic=topic, sector=sector)
    posts = posts.order_by("-published_at").prefetch_related("sectors")
    page = list(posts[filters.offset : filters.offset + filters.limit])
    return {"count": posts.count(), "items": [post_data(p) for p in page]}


@router.get(
    "/posts/{post_id}", response={200: PostDetailOut, 400: Error, 404: Error}, summary="Une publication", tags=["Publications"]
)
@shared_page
@public_read(PostDetailOut)
def get_post(request, post_id: Annotated[int, Field(ge=1, le=2**62)]):
    post = selectors.public_posts(request.commune).prefetch_related("sectors").filter(pk=post_id).first()
    if post is None:
        raise ApiError(404, "Publication introuvable : elle n’existe pas ou n’est plus en ligne.")
    return {**post_data(post), "body": post.body}


@router.get("/alerts", response=list[PostOut], summary="Alertes en cours", tags=["Publications"])
@shared_page
@public_read(list[PostOut])
def list_alerts(request):
    return [post_data(p) for p in selectors.current_alerts(request.commune).prefetch_related("sectors")]


@router.get("/agenda", response={200: list[PostOut], 400: Error, 404: Error}, summary="Agenda", tags=["Publications"])
@shared_page(params=tuple(AgendaFilters.model_fields))
@public_read(list[PostOut])
def agenda(request, filters: Query[AgendaFilters]):
    """Manifestations qui ont lieu pendant la période, par date de début."""
    topic, sector = _topic_and_sector(request.commune, filters.topic, filters.sector)
    days = selectors.agenda(
        request.commune, start=filters.start or timezone.localdate(), days=filters.days, topic=topic, sector=sector
    )
    seen, items = set(), []
    for _day, posts in days:
        for post in posts:
            if post.pk not in seen:
                seen.add(post.pk)
                items.append(post_data(post))
    return items


@router.get("/topics", response=list[TopicOut], summary="Thèmes", tags=["Commune"])
@shared_page
@public_read(list[TopicOut])
def list_topics(request):
    return list(selectors.topics(request.commune).values("slug", "name"))


@router.get("/sectors", response=list[SectorOut], summary="Quartiers", tags=["Commune"])
@shared_page
@public_read(list[SectorOut])
def list_sectors(request):
    return list(selectors.sectors(request.commune).values("slug", "name", "area"))


@router.get(
    "/panels/{slug}", response={200: PanelOut, 400: Error, 404: Error}, summary="Contenu d’un panneau", tags=["Panneaux"]
)
@shared_page
@public_read(PanelOut)
def panel(request, slug: Annotated[SlugText, Field(examples=["mairie"])]):
    screen = Screen.objects.select_related("organisation").filter(organisation=request.commune, slug=slug).first()
    if screen is None:
        raise ApiError(404, "Panneau d’information introuvable.")
    return panel_content(screen)


# --- Web Push ----------------------------------------------------------------------


class PushKeyOut(Schema):
    public_key: str = Field(description="Clé VAPID du serveur (applicationServerKey), en base64url.")


# What browsers send (PushSubscription.toJSON()): the endpoint is a URL of the
# push service, printable ASCII; the keys are base64url.
def _document_endpoint_pattern(schema: dict) -> None:
    """The document states exactly which push services this installation
    calls (PUSH_ALLOWED_HOSTS, read when the document is built); the service
    (notify.push.validation) refuses the others with 400."""
    schema["pattern"] = endpoint_pattern(settings.PUSH_ALLOWED_HOSTS)


ENDPOINT = Field(
    ...,
    min_length=10,
    max_length=1000,
    pattern=r"^https?://[!-~]+$",
    description=(
        "Adresse d’envoi donnée par le navigateur : une URL https d’un service de notification reconnu par "
        "l’installation, sans identifiant ni port."
    ),
    json_schema_extra=_document_endpoint_pattern,
)
BASE64URL_PATTERN = r"^[A-Za-z0-9_-]+={0,2}$"


class PushKeys(Schema):
    # 65 bytes beginning with 0x04 (an uncompressed point), in base64url: "B",
    # then a character of value 0 to 15, then 85 more.
    p256dh: str = Field(
        ..., min_length=87, max_length=88, pattern=r"^B[A-P][A-Za-z0-9_-]{85}=?$",
        description="Clé publique P-256 du navigateur : un point non compressé (65 octets), en base64url.",
    )
    auth: str = Field(
        ..., min_length=22, max_length=24, pattern=r"^[A-Za-z0-9_-]{22}(==)?$",
        description="Secret d’authentification (16 octets), en base64url.",
    )


class SubscriptionIn(Schema):
    """Les alertes, ou au moins un thème : un abonnement doit recevoir quelque chose."""

    model_config = {"json_schema_extra": {"anyOf": [
        {"properties": {"alerts": {"const": True}}},
        {"required": ["topics"], "properties": {"topics": {"minItems": 1}}},
    ]}}

    endpoint: str = ENDPOINT
    keys: PushKeys
    alerts: bool = Field(True, strict=True, description="Recevoir les alertes.")
    topics: list[SlugText] = Field(
        default_factory=list, max_length=50,
        description="Identifiants des thèmes suivis ; un thème que la commune n’a pas répond 404.",
    )
    sectors: list[SlugText] = Field(
        default_factory=list, max_length=50,
        description="Identifiants des quartiers ; aucun : toute la commune ; un quartier inconnu répond 404.",
    )


class SubscriptionOut(Schema):
    status: Literal["created", "updated"]


class UnsubscribeIn(Schema):
    endpoint: str = ENDPOINT
    auth: str = Field(..., min_length=16, max_length=40, pattern=BASE64URL_PATTERN)


@router.get("/push/key", response=PushKeyOut, summary="Clé publique des notifications", tags=["Notifications"])
def push_key(request):
    return {"public_key": vapid.application_server_key()}


@router.post(
    "/push/subscriptions",
    response={200: SubscriptionOut, 201: SubscriptionOut, 400: Error, 404: Error, 409: Error, 413: Error, 429: Error},
    summary="S’abonner aux notifications",
    tags=["Notifications"],
)
def subscribe(request, payload: SubscriptionIn):
    """Enregistre l’abonnement d’un navigateur : seuls l’adresse, ses clés et les choix sont conservés."""
    if not throttle.allow(request, scope="push-subscribe", limit=30, window_seconds=3600):
        raise ApiError(429, "Trop de demandes : réessayez dans une heure.")
    try:
        _subscription, created = subscription_save(
            commune=request.commune,
            endpoint=payload.endpoint,
            p256dh=payload.keys.p256dh,
            auth=payload.keys.auth,
            alerts=payload.alerts,
            topics=payload.topics,
            sectors=payload.sectors,
        )
    except UnknownChoice as exc:
        raise ApiError(404, str(exc)) from exc
    except DjangoValidationError as exc:
        raise ApiError(400, " ".join(message for _field, message in faults(exc))) from exc
    except SubscriptionConflict as exc:
        raise ApiError(409, "Cet abonnement existe déjà avec d’autres clés.") from exc
    if created:
        return Status(201, {"status": "created"})
    return Status(200, {"status": "updated"})


@router.delete(
    "/push/subscriptions",
    response={204: None, 400: Error, 404: Error, 413: Error},
    summary="Se désabonner",
    tags=["Notifications"],
)
def unsubscribe(request, payload: UnsubscribeIn):
    """Supprime l’abonnement ; le secret ``auth`` du navigateur prouve qu’il est le sien."""
    if not subscription_delete(commune=request.commune, endpoint=payload.endpoint, auth=payload.auth):
        raise ApiError(404, "Aucun abonnement ne correspond.")
    return Status(204, None)
