"""Public pages of the information feed: no account, no personal data."""

import calendar
from datetime import date, timedelta
from functools import partial

from django.core.paginator import EmptyPage, PageNotAnInteger, Paginator
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone

from beffroi.edge.marks import shared_page
from beffroi.info import selectors
from beffroi.info.forms import AgendaFilterForm, FeedFilterForm, PushChoiceForm
from beffroi.info.models import Post

PAGE_SIZE = 12


def _page(request, items):
    paginator = Paginator(items, PAGE_SIZE)
    try:
        return paginator.page(request.GET.get("page") or 1)
    except PageNotAnInteger:
        raise Http404("Numéro de page invalide.") from None
    except EmptyPage:
        raise Http404("Cette page n’existe pas.") from None


def _filtered(request, form_class=FeedFilterForm):
    """The filter form, and the status: 400 when a filter names nothing known."""
    form = form_class(request.GET or None, commune=request.commune)
    if form.is_bound and not form.is_valid():
        return form, 400, {}
    data = form.cleaned_data if form.is_bound else {}
    return form, 200, {"topic": data.get("theme"), "sector": data.get("secteur")}


@shared_page
def home(request):
    return render(request, "info/home.html", {"home": selectors.Home(request.commune)})


def _list(request, *, kind: str, template: str, order: str | None = None, upcoming: bool = False):
    form, status, filters = _filtered(request)
    posts = selectors.public_posts(request.commune, kind=kind, **filters)
    posts = posts.upcoming() if upcoming else posts.order_by(order or "-published_at")
    return render(request, template, {"form": form, "page": _page(request, posts)}, status=status)


LIST_PARAMS = ("page", "theme", "secteur")


@shared_page(params=LIST_PARAMS)
def news_list(request):
    return _list(request, kind=Post.Kind.NEWS, template="info/news_list.html")


@shared_page(params=LIST_PARAMS)
def works_list(request):
    return _list(request, kind=Post.Kind.WORKS, template="info/works_list.html", upcoming=True)


@shared_page
def alerts(request):
    return render(request, "info/alerts.html", {"alerts": selectors.current_alerts(request.commune)})


@shared_page(params=("mois", "theme", "secteur"))
def agenda(request):
    form, status, filters = _filtered(request, AgendaFilterForm)
    month = form.cleaned_data.get("mois") if status == 200 and form.is_bound else None
    today = timezone.localdate()
    if month:
        start = month.replace(day=1)
        days = calendar.monthrange(start.year, start.month)[1]
    else:
        start, days = today, 31
    first_of_month = start.replace(day=1)
    previous_month = (first_of_month - timedelta(days=1)).replace(day=1)
    next_month = (first_of_month + timedelta(days=32)).replace(day=1)
    context = {
        "form": form,
        # Called by the template only if its cached fragment is stale.
        "days": partial(selectors.agenda, request.commune, start=start, days=days, **filters),
        "start": start,
        "month": month,
        "previous_month": previous_month if previous_month >= date(today.year - 1, 1, 1) else None,
        "next_month": next_month,
    }
    return render(request, "info/agenda.html", context, status=status)


def _detail(request, *, pk: int, slug: str, kind: str, template: str):
    post = get_object_or_404(
        selectors.public_posts(request.commune, kind=kind).prefetch_related("sectors"), pk=pk
    )
    if post.slug != slug:
        return redirect(post, permanent=True)
    return render(request, template, {"post": post})


@shared_page
def news_detail(request, pk, slug):
    return _detail(request, pk=pk, slug=slug, kind=Post.Kind.NEWS, template="info/post_detail.html")


@shared_page
def event_detail(request, pk, slug):
    return _detail(request, pk=pk, slug=slug, kind=Post.Kind.EVENT, template="info/post_detail.html")


@shared_page
def works_detail(request, pk, slug):
    return _detail(request, pk=pk, slug=slug, kind=Post.Kind.WORKS, template="info/post_detail.html")


@shared_page
def alert_detail(request, pk, slug):
    return _detail(request, pk=pk, slug=slug, kind=Post.Kind.ALERT, template="info/post_detail.html")


@shared_page
def notifications(request):
    return render(request, "info/notifications.html", {"form": PushChoiceForm(commune=request.commune)})
