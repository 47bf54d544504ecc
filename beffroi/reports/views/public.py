"""What inhabitants see: the report form, the follow-up page, the public list.

No account, nothing identifying: a report's author holds a secret link, whose
token is only known to the database by its hash. Someone who follows the report
instead of filing it again holds a link of their own, a follower's: it opens
the public view only (see ``FollowRole``), and writes nothing.
"""

import math

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from beffroi.core import throttle
from beffroi.core.errors import to_form, to_json, to_messages
from beffroi.reports.forms import AuthorMessageForm, ReportForm
from beffroi.reports.models import FollowToken, Report, ReportPhoto
from beffroi.reports.photos import photo_response
from beffroi.reports.presenters import public_data
from beffroi.reports.push import read_push_subscription
from beffroi.reports.qr import qr_svg
from beffroi.reports.selectors import follow_entries, follow_for_token, follow_photos
from beffroi.reports.services.submission import AUTHOR_ONLY, report_author_message, report_follow, report_submit
from beffroi.reports.services.subscriptions import follower_push_subscribe
from beffroi.reports.tokens import normalise_code

NEARBY_METRES = 200


def _too_many(request, scope, limit, window) -> bool:
    return not throttle.allow(request, scope=scope, limit=limit, window_seconds=window)


def report_form(request):
    form = ReportForm(request.POST or None, request.FILES or None, commune=request.commune)
    if request.method == "POST":
        if _too_many(request, "report-submit", settings.REPORTS_PER_HOUR, 3600):
            messages.error(request, "Trop de signalements envoyés depuis cette connexion : réessayez dans une heure.")
            return render(request, "reports/form.html", {"form": form}, status=429)
        if form.is_valid():
            data = form.cleaned_data
            try:
                submission = report_submit(
                    commune=request.commune,
                    category=data["category"],
                    description=data["description"],
                    latitude=data["latitude"],
                    longitude=data["longitude"],
                    address=data["address"],
                    photos=data["photos"],
                    answers=data["answers"],
                )
            except ValidationError as exc:
                to_form(form, exc)
            else:
                return redirect(reverse("reports:follow", kwargs={"token": submission.token}) + "?nouveau=1")
        return render(request, "reports/form.html", {"form": form}, status=400)
    return render(request, "reports/form.html", {"form": form})


def _follow_or_404(token: str) -> FollowToken:
    access = follow_for_token(token)
    if access is None:
        raise Http404("Lien de suivi inconnu.")
    return access


def _private(response):
    # The link is a secret: no copy in shared caches, no referrer.
    response["Cache-Control"] = "private, no-store"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _timeline_context(access: FollowToken, token: str) -> dict:
    context = {"report": access.report, "token": token, "author": access.is_author, "entries": follow_entries(access)}
    if not access.is_author:
        context["public_photos"] = follow_photos(access)
    return context


def follow(request, token):
    """The follow-up page: the author's view for the author's link, the public view for a follower's."""
    access = _follow_or_404(token)
    form = AuthorMessageForm(request.POST or None, request.FILES or None) if access.is_author else None
    status = 200
    if request.method == "POST":
        if not access.is_author:
            # Refused before the body is read: a follower's link writes nothing.
            messages.error(request, AUTHOR_ONLY)
            status = 403
        elif _too_many(request, "report-message", settings.REPORT_MESSAGES_PER_HOUR, 3600):
            messages.error(request, "Trop de messages envoyés : réessayez plus tard.")
            status = 429
        elif form.is_valid():
            try:
                report_author_message(follow=access, text=form.cleaned_data["text"], photos=form.cleaned_data["photos"])
            except PermissionDenied as exc:
                messages.error(request, str(exc))
                status = 403
            except ValidationError as exc:
                to_form(form, exc)
                status = 400
            else:
                messages.success(request, "Votre message a été transmis aux agents.")
                return redirect("reports:follow", token=token)
        else:
            status = 400
    url = request.build_absolute_uri(reverse("reports:follow", kwargs={"token": token}))
    context = {
        **_timeline_context(access, token),
        "form": form,
        "new": request.GET.get("nouveau") == "1",
        "link": url,
        "qr": qr_svg(url),
    }
    return _private(render(request, "reports/follow.html", context, status=status))


@require_GET
def follow_timeline(request, token):
    """The timeline alone, for the page's live updates."""
    access = _follow_or_404(token)
    return _private(render(request, "reports/_timeline.html", _timeline_context(access, token)))


@require_POST
def follow_push(request, token):
    """Web Push for this report only (JSON body from the page's script); a
    follower's device is told of public steps only."""
    access = _follow_or_404(token)
    subscription, error = read_push_subscription(request.body)
    if error:
        return JsonResponse({"detail": error}, status=400)
    try:
        follower_push_subscribe(follow=access, **subscription)
    except ValidationError as exc:
        return to_json(exc)
    return JsonResponse({"status": "ok"}, status=201)


@require_GET
def follow_photo(request, token, photo_id, width):
    """A photo of the report: any for its author, approved ones for a follower."""
    access = _follow_or_404(token)
    photo = get_object_or_404(follow_photos(access), pk=photo_id)
    return photo_response(photo, width)


@require_GET
def public_photo(request, photo_id, width):
    photo = get_object_or_404(ReportPhoto, pk=photo_id, is_public=True, report__commune=request.commune)
    return photo_response(photo, width, public=True)


def _distance_m(lat1, lon1, lat2, lon2) -> float:
    # Equirectangular approximation: exact enough at a few hundred metres.
    x = math.radians(lon2 - lon1) * math.cos(math.radians((lat1 + lat2) / 2))
    y = math.radians(lat2 - lat1)
    return 6_371_000 * math.hypot(x, y)


@require_GET
def nearby(request):
    """Open reports of the same category near a point: "déjà signalé ?"."""
    try:
        category_id = int(request.GET.get("categorie", ""))
        lat, lon = float(request.GET.get("lat", "")), float(request.GET.get("lon", ""))
    except ValueError:
        return JsonResponse({"detail": "Paramètres attendus : categorie, lat, lon (nombres)."}, status=400)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        return JsonResponse({"detail": "Position impossible."}, status=400)
    delta = NEARBY_METRES / 111_000
    candidates = (
        Report.objects.open()
        .filter(commune=request.commune, category_id=category_id)
        .filter(latitude__range=(lat - delta, lat + delta), longitude__range=(lon - 2 * delta, lon + 2 * delta))
        .select_related("category", "sector")[:50]
    )
    found = []
    for report in candidates:
        distance = _distance_m(lat, lon, float(report.latitude), float(report.longitude))
        if distance <= NEARBY_METRES:
            found.append({**public_data(report), "distance_m": round(distance), "follow_url": reverse("reports:follow_existing", kwargs={"code": report.code})})
    found.sort(key=lambda item: item["distance_m"])
    return JsonResponse({"reports": found[:5]})


@require_POST
def follow_existing(request, code):
    """Follow a report already filed instead of filing it again."""
    if _too_many(request, "report-follow", 20, 3600):
        return HttpResponse("Trop de demandes : réessayez plus tard.", status=429, content_type="text/plain; charset=utf-8")
    report = get_object_or_404(Report.objects.open(), commune=request.commune, code=normalise_code(code))
    try:
        token = report_follow(report=report)
    except ValidationError as exc:
        to_messages(request, exc)
        return redirect("reports:public_list")
    messages.success(request, "Vous suivez maintenant ce signalement : gardez le lien de cette page.")
    return redirect(reverse("reports:follow", kwargs={"token": token}) + "?nouveau=1")


def public_list(request):
    reports = (
        Report.objects.public().filter(commune=request.commune)
        .select_related("category__parent", "sector")
        .prefetch_related("photos")
    )
    page = Paginator(reports, 20).get_page(request.GET.get("page"))
    return render(request, "reports/public_list.html", {"page": page})


@require_GET
def public_map_data(request):
    reports = Report.objects.public().filter(commune=request.commune, latitude__isnull=False).select_related("category__parent", "sector")[:1000]
    return JsonResponse({"reports": [public_data(r) for r in reports]})


def public_detail(request, code):
    report = get_object_or_404(
        Report.objects.public().select_related("category__parent", "sector"), commune=request.commune,
        code=normalise_code(code),
    )
    photos = report.photos.filter(is_public=True)
    return render(request, "reports/public_detail.html", {"report": report, "photos": photos})
