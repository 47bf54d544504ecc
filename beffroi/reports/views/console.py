"""The agents' console: the live queue of the reports their organisation received."""

from collections import Counter

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from beffroi.core.errors import to_json, to_messages
from beffroi.core.models import JournalEntry, Membership
from beffroi.core.permissions import requires
from beffroi.realtime import channels
from beffroi.realtime.bus import channel_head
from beffroi.reports.forms import (
    AgentPhotoForm,
    AssignForm,
    MessageForm,
    ModerationForm,
    QueueFilterForm,
    TransferForm,
    TransitionForm,
)
from beffroi.reports.lifecycle import ACTIONS_WITH_FORM, REPORT_LIFECYCLE
from beffroi.reports.models import Report, ReportPhoto
from beffroi.reports.photos import photo_response
from beffroi.reports.presenters import console_data
from beffroi.reports.push import read_push_subscription
from beffroi.reports.selectors import filter_reports
from beffroi.reports.services.agents import (
    report_agent_photo,
    report_assign,
    report_message,
    report_moderate,
    report_transfer,
    report_transition,
)
from beffroi.reports.services.subscriptions import agent_push_subscribe
from beffroi.reports.tokens import normalise_code
from beffroi.reports.views.public import NEARBY_METRES, _distance_m


def _received(request):
    return Report.objects.received_by(request.commune).select_related("category__parent", "service", "assignee", "sector")


def _report(request, code) -> Report:
    return get_object_or_404(_received(request), code=normalise_code(code))


def _filtered(request):
    """The received reports, through the console's filters (open ones by default)."""
    form = QueueFilterForm(request.GET or None, organisation=request.commune)
    if form.is_bound and not form.is_valid():
        return form, _received(request).open(), 400
    return form, filter_reports(_received(request), form.cleaned_data if form.is_bound else {}), 200


@requires("handle_reports")
def queue(request):
    form, reports, status = _filtered(request)
    page = Paginator(reports, 50).get_page(request.GET.get("page"))
    rows = [console_data(r) for r in page.object_list]
    context = {
        "form": form,
        "page": page,
        "rows": rows,
        "since": channel_head(channels.reports_received(request.commune.pk)),
        # New reports are inserted live only where they belong: the first page, unfiltered.
        "live_insert": page.number == 1 and not form.is_filtered,
    }
    return render(request, "reports/console_queue.html", context, status=status)


MAP_LIMIT = 1000


@requires("handle_reports")
def map_view(request):
    """The open reports on a map, coloured by status; the same ones listed below it."""
    form, reports, status = _filtered(request)
    reports = list(reports[:MAP_LIMIT])
    now = timezone.now()
    for report in reports:
        report.late = bool(report.is_open and report.due_at and report.due_at < now)
    counts = Counter(r.status for r in reports)
    legend = [(value, label, counts[value]) for value, label in Report.Status.choices if counts[value]]
    context = {
        "form": form,
        "located": [r for r in reports if r.latitude is not None],
        "unlocated": [r for r in reports if r.latitude is None],
        "legend": legend,
        "truncated": len(reports) == MAP_LIMIT,
    }
    return render(request, "reports/console_map.html", context, status=status)


@require_GET
@requires("handle_reports")
def map_data(request):
    """The map's markers: the received reports that have a position, as filtered."""
    _form, reports, status = _filtered(request)
    located = reports.filter(latitude__isnull=False, longitude__isnull=False)[:MAP_LIMIT]
    return JsonResponse({"reports": [console_data(r) for r in located]}, status=status)


def _nearby_duplicates(report: Report):
    if report.latitude is None:
        return []
    delta = NEARBY_METRES / 111_000
    lat, lon = float(report.latitude), float(report.longitude)
    candidates = (
        Report.objects.received_by(report.organisation)
        .exclude(pk=report.pk)
        .exclude(status=Report.Status.DUPLICATE)
        .filter(category=report.category, latitude__range=(lat - delta, lat + delta), longitude__range=(lon - 2 * delta, lon + 2 * delta))
    )
    found = [(round(_distance_m(lat, lon, float(r.latitude), float(r.longitude))), r) for r in candidates[:20]]
    return sorted((item for item in found if item[0] <= NEARBY_METRES), key=lambda item: item[0])


@requires("handle_reports")
def detail(request, code):
    report = _report(request, code)
    actions = [(a, REPORT_LIFECYCLE.action_labels[a]) for a in REPORT_LIFECYCLE.allowed_actions(report.status) if a != "transfer"]
    context = {
        "report": report,
        "data": console_data(report),
        "entries": report.entries.select_related("agent").prefetch_related("photos"),
        "photos": report.photos.all(),
        "actions": actions,
        "actions_with_form": ACTIONS_WITH_FORM,
        "transition_form": TransitionForm(),
        "transfer_form": TransferForm(),
        "assign_form": AssignForm(organisation=report.organisation, initial={"agent": _membership_of(report)}),
        "message_form": MessageForm(),
        "photo_form": AgentPhotoForm(),
        "moderation_form": ModerationForm(
            report=report,
            initial={"public_text": report.public_text, "photos": [str(p.pk) for p in report.photos.all() if p.is_public]},
        ),
        "can_transfer": REPORT_LIFECYCLE.transitions.get((report.status, "transfer")) is not None,
        "duplicates": _nearby_duplicates(report),
        "history": JournalEntry.objects.filter(object_type="reports.report", object_id=str(report.pk)).order_by("-seq")[:30],
        "since": channel_head(channels.reports_received(request.commune.pk)),
    }
    return render(request, "reports/console_detail.html", context)


def _membership_of(report):
    if report.assignee_id is None:
        return None
    return Membership.objects.filter(organisation=report.organisation, user_id=report.assignee_id).first()


def _done(request, report, message):
    messages.success(request, message)
    return redirect("reports:console_detail", code=report.code)


def _refused(request, report, exc):
    to_messages(request, exc)
    return redirect("reports:console_detail", code=report.code)


@require_POST
@requires("handle_reports")
def transition(request, code, action):
    report = _report(request, code)
    form = TransitionForm(request.POST)
    if not form.is_valid():
        return _refused(request, report, ValidationError([e for errors in form.errors.values() for e in errors]))
    duplicate_of = None
    if action == "mark_duplicate":
        duplicate_of = Report.objects.received_by(request.commune).filter(
            code=normalise_code(form.cleaned_data["duplicate_of"])
        ).first()
    try:
        report = report_transition(
            actor=request.user, report=report, action=action, text=form.cleaned_data["text"], duplicate_of=duplicate_of
        )
    except ValidationError as exc:
        return _refused(request, report, exc)
    return _done(request, report, f"Signalement {report.code} : {report.get_status_display().lower()}.")


@require_POST
@requires("handle_reports")
def transfer(request, code):
    report = _report(request, code)
    form = TransferForm(request.POST)
    if not form.is_valid():
        return _refused(request, report, ValidationError([e for errors in form.errors.values() for e in errors]))
    try:
        report = report_transfer(actor=request.user, report=report, service=form.cleaned_data["service"], text=form.cleaned_data["text"])
    except ValidationError as exc:
        return _refused(request, report, exc)
    messages.success(request, f"Signalement {report.code} transféré à {report.service.name}.")
    if report.organisation_id != request.commune.pk:
        return redirect("reports:console")
    return redirect("reports:console_detail", code=report.code)


@require_POST
@requires("handle_reports")
def assign(request, code):
    report = _report(request, code)
    form = AssignForm(request.POST, organisation=report.organisation)
    if not form.is_valid():
        return _refused(request, report, ValidationError([e for errors in form.errors.values() for e in errors]))
    membership = form.cleaned_data["agent"]
    try:
        report_assign(actor=request.user, report=report, agent=membership.user if membership else None)
    except ValidationError as exc:
        return _refused(request, report, exc)
    return _done(request, report, "Attribution enregistrée.")


@require_POST
@requires("handle_reports")
def message(request, code):
    report = _report(request, code)
    form = MessageForm(request.POST)
    if not form.is_valid():
        return _refused(request, report, ValidationError([e for errors in form.errors.values() for e in errors]))
    try:
        report_message(actor=request.user, report=report, kind=form.cleaned_data["kind"], text=form.cleaned_data["text"])
    except ValidationError as exc:
        return _refused(request, report, exc)
    return _done(request, report, "Message enregistré.")


@require_POST
@requires("handle_reports")
def agent_photo(request, code):
    report = _report(request, code)
    form = AgentPhotoForm(request.POST, request.FILES)
    if not form.is_valid():
        return _refused(request, report, ValidationError([e for errors in form.errors.values() for e in errors]))
    report_agent_photo(actor=request.user, report=report, image=form.cleaned_data["photos"][0])
    return _done(request, report, "Photo ajoutée.")


@require_POST
@requires("handle_reports")
def moderate(request, code):
    report = _report(request, code)
    form = ModerationForm(request.POST, report=report)
    if not form.is_valid():
        return _refused(request, report, ValidationError([e for errors in form.errors.values() for e in errors]))
    report_moderate(
        actor=request.user, report=report, public_text=form.cleaned_data["public_text"],
        public_photo_ids=[int(i) for i in form.cleaned_data["photos"]],
    )
    return _done(request, report, "Page publique mise à jour.")


@requires("handle_reports")
def photo(request, photo_id, width):
    photo = get_object_or_404(ReportPhoto, pk=photo_id, report__organisation=request.commune)
    return photo_response(photo, width)


@require_POST
@requires("handle_reports")
def push_subscription(request):
    """An agent's device asks for Web Push of new reports (JSON body)."""
    subscription, error = read_push_subscription(request.body)
    if error:
        return JsonResponse({"detail": error}, status=400)
    try:
        agent_push_subscribe(user=request.user, organisation=request.commune, **subscription)
    except ValidationError as exc:
        return to_json(exc)
    return JsonResponse({"status": "ok"}, status=201)
