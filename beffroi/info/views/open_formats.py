"""iCalendar downloads (feeds are in beffroi.info.feeds)."""

from datetime import timedelta

from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.utils import timezone

from beffroi.edge.marks import shared_page
from beffroi.info import selectors
from beffroi.info.calendar import build_calendar
from beffroi.info.models import Post

PAST_DAYS = 90


def _site(request) -> str:
    return f"{request.scheme}://{request.get_host()}"


def _ics(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _calendar(request, kind: str, name: str, filename: str):
    since = timezone.now() - timedelta(days=PAST_DAYS)
    posts = (
        selectors.public_posts(request.commune, kind=kind)
        .exclude(ends_at__lt=since)
        .exclude(ends_at__isnull=True, starts_at__lt=since)
        .order_by("starts_at")
    )
    return _ics(build_calendar(request.commune, posts, name=name, site=_site(request)), filename)


@shared_page
def agenda_ics(request):
    return _calendar(request, Post.Kind.EVENT, "Agenda", "agenda.ics")


@shared_page
def works_ics(request):
    return _calendar(request, Post.Kind.WORKS, "Travaux", "travaux.ics")


@shared_page
def post_ics(request, pk, slug):
    post = get_object_or_404(
        selectors.public_posts(request.commune).filter(kind__in=[Post.Kind.EVENT, Post.Kind.WORKS]), pk=pk
    )
    return _ics(build_calendar(request.commune, [post], name=post.title, site=_site(request)), f"{post.slug}.ics")
