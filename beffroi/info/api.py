"""JSON API of the information feed."""

from datetime import date, datetime
from typing import Annotated, Literal

from django.core.exceptions import ValidationError as DjangoValidationError
from django.shortcuts import get_object_or_404
from django.utils import timezone
from ninja import Field, Query, Router, Schema

from beffroi.api import Error
from beffroi.core import throttle
from beffroi.core.models import Sector
from beffroi.edge.marks import shared_page
from beffroi.info import selectors
from beffroi.info.models import Screen, Topic
from beffroi.info.panels import panel_content
from beffroi.info.presenters import post_data
from beffroi.info.subscriptions import SubscriptionConflict, subscription_delete, subscription_save
from beffroi.notify.push import vapid

router = Router()

Kind = Literal["news", "event", "works", "alert"]
Slug = Field(None, max_length=80, pattern=r"^[-a-zA-Z0-9_]+$")


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
    topic: str | None = Slug
    sector: str | None = Slug
    limit: int = Field(20, ge=1, le=50)
    offset: int = Field(0, ge=0, le=10_000)


class AgendaFilters(Schema):
    start: date | None = Field(None, description="Premier jour (AAAA-MM-JJ) ; par défaut aujourd’hui.")
    days: int = Field(31, ge=1, le=93)
    topic: str | None = Slug
    sector: str | None = Slug


def _topic_and_sector(commune, topic_slug, sector_slug):
    topic = sector = None
    if topic_slug:
        topic = get_object_or_404(Topic, organisation=commune, slug=topic_slug)
    if sector_slug:
        sector = get_object_or_404(Sector, organisation=commune, slug=sector_slug)
    return topic, sector


@router.get("/posts", response={200: PostPage, 400: Error, 404: Error}, summary="Publications visibles", tags=["Publications"])
@shared_page
def list_posts(request, filters: Query[FeedFilters]):
    """Publications en cours, les plus récentes d’abord ; ``topic`` et ``sector`` sont des identifiants."""
    topic, sector = _topic_and_sector(request.commune, filters.topic, filters.sector)
    posts = selectors.public_posts(request.commune, kind=filters.kind, topic=topic, sector=sector)
    posts = posts.order_by("-published_at").prefetch_related("sectors")
    page = list(posts[filters.offset : filters.offset + filters.limit])
    return {"count": posts.count(), "items": [post_data(p) for p in page]}


@router.get("/posts/{post_id}", response={200: PostDetailOut, 404: Error}, summary="Une publication", tags=["Publications"])
@shared_page
def get_post(request, post_id: Annotated[int, Field(ge=1, le=2**62)]):
    post = get_object_or_404(selectors.public_posts(request.commune).prefetch_related("sectors"), pk=post_id)
    return {**post_data(post), "body": post.body}


@router.get("/alerts", response=list[PostOut], summary="Alertes en cours", tags=["Publications"])
@shared_page
def list_alerts(request):
    return [post_data(p) for p in selectors.current_alerts(request.commune).prefetch_related("sectors")]


@router.get("/agenda", response={200: list[PostOut], 400: Error, 404: Error}, summary="Agenda", tags=["Publications"])
@shared_page
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
def list_topics(request):
    return list(selectors.topics(request.commune).values("slug", "name"))


@router.get("/sectors", response=list[SectorOut], summary="Quartiers", tags=["Commune"])
@shared_page
def list_sectors(request):
    return list(selectors.sectors(request.commune).values("slug", "name", "area"))


@router.get("/panels/{slug}", response={200: PanelOut, 404: Error}, summary="Contenu d’un panneau", tags=["Panneaux"])
@shared_page
def panel(request, slug: Annotated[str, Field(max_length=80, pattern=r"^[-a-zA-Z0-9_]+$")]):
    screen = get_object_or_404(Screen.objects.select_related("organisation"), organisation=request.commune, slug=slug)
    return panel_content(screen)


# --- Web Push ----------------------------------------------------------------------


class PushKeyOut(Schema):
    public_key: str = Field(description="Clé VAPID du serveur (applicationServerKey), en base64url.")


class PushKeys(Schema):
    p256dh: str = Field(..., min_length=80, max_length=100)
    auth: str = Field(..., min_length=16, max_length=40)


class SubscriptionIn(Schema):
    endpoint: str = Field(..., min_length=10, max_length=1000)
    keys: PushKeys
    alerts: bool = True
    topics: list[str] = Field(default_factory=list, max_length=50)
    sectors: list[str] = Field(default_factory=list, max_length=50)


class SubscriptionOut(Schema):
    status: Literal["created", "updated"]


class UnsubscribeIn(Schema):
    endpoint: str = Field(..., min_length=10, max_length=1000)
    auth: str = Field(..., min_length=16, max_length=40)


@router.get("/push/key", response=PushKeyOut, summary="Clé publique des notifications", tags=["Notifications"])
def push_key(request):
    return {"public_key": vapid.application_server_key()}


@router.post(
    "/push/subscriptions",
    response={200: SubscriptionOut, 201: SubscriptionOut, 400: Error, 409: Error, 429: Error},
    summary="S’abonner aux notifications",
    tags=["Notifications"],
)
def subscribe(request, payload: SubscriptionIn):
    """Enregistre l’abonnement d’un navigateur : seuls l’adresse, ses clés et les choix sont conservés."""
    if not throttle.allow(request, scope="push-subscribe", limit=30, window_seconds=3600):
        return 429, {"detail": "Trop de demandes : réessayez dans une heure.", "errors": []}
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
    except DjangoValidationError as exc:
        return 400, {"detail": " ".join(exc.messages), "errors": []}
    except SubscriptionConflict:
        return 409, {"detail": "Cet abonnement existe déjà avec d’autres clés.", "errors": []}
    return (201 if created else 200), {"status": "created" if created else "updated"}


@router.delete(
    "/push/subscriptions",
    response={204: None, 400: Error, 404: Error},
    summary="Se désabonner",
    tags=["Notifications"],
)
def unsubscribe(request, payload: UnsubscribeIn):
    """Supprime l’abonnement ; le secret ``auth`` du navigateur prouve qu’il est le sien."""
    if not subscription_delete(endpoint=payload.endpoint, auth=payload.auth):
        return 404, {"detail": "Aucun abonnement ne correspond.", "errors": []}
    return 204, None
