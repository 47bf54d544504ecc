"""Administrators' configuration of the reports: categories, questions, routing
rules, on-call rota (lists and forms through SettingsCrud) and the organisation's
settings."""

from dataclasses import dataclass

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import F
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.utils import timezone

from beffroi.core.errors import to_form
from beffroi.core.permissions import requires
from beffroi.core.views.crud import SettingsCrud
from beffroi.reports.forms_configuration import (
    CategoryForm,
    OnCallShiftForm,
    QuestionForm,
    ReportSettingsForm,
    RoutingRuleForm,
)
from beffroi.reports.models import Category, CategoryQuestion, OnCallShift, ReportSettings, RoutingRule
from beffroi.reports.services.configuration import (
    CATEGORY_FIELDS,
    QUESTION_FIELDS,
    RULE_FIELDS,
    SHIFT_FIELDS,
    category_question_delete,
    category_question_save,
    on_call_shift_delete,
    on_call_shift_save,
    report_category_delete,
    report_category_save,
    report_settings_update,
    routing_rule_delete,
    routing_rule_save,
)

PERMISSION = "manage_reports"


def _yes_no(value: bool) -> str:
    return "oui" if value else "non"


def _categories(request):
    # Each group, then its categories.
    return (
        Category.objects.filter(organisation=request.commune)
        .select_related("parent")
        .prefetch_related("competent_for", "children")
        .order_by(
            Coalesce(F("parent__position"), F("position")), Coalesce(F("parent__name"), F("name")),
            F("parent").asc(nulls_first=True), "position", "name",
        )
    )


def _deadline(category) -> str:
    if category.parent_id is None and category.children.all():
        return "celui de chaque catégorie"
    days = category.deadline_days
    return f"{days} jour{'s' if days > 1 else ''} ouvré{'s' if days > 1 else ''}"


def _competence(category) -> str:
    communes = [c.name for c in category.competent_for.all()]
    return ", ".join(communes) if communes else "toutes"


def _rules(request):
    return RoutingRule.objects.filter(organisation=request.commune).select_related(
        "category__parent", "sector", "target_organisation", "target_service", "target_agent"
    )


def _destination(rule) -> str:
    where = f"{rule.target_service.name} ({rule.target_organisation.name})"
    return f"{where}, {rule.target_agent.display_name}" if rule.target_agent_id else where


def _shifts(request):
    return OnCallShift.objects.filter(service__organisation=request.commune).select_related("service", "agent")


def _when(value) -> str:
    return timezone.localtime(value).strftime("%d/%m/%Y %H:%M")


@dataclass
class ShiftCrud(SettingsCrud):
    """The rota lists current and coming shifts first; past ones on demand."""

    def list_view(self, request):
        show_past = request.GET.get("passees") == "1"
        shifts = self._objects(request)
        if not show_past:
            shifts = shifts.filter(ends_at__gte=timezone.now())
        rows = [{"object": s, "cells": [self._cell(s, attr) for attr, _ in self.columns]} for s in shifts]
        return render(request, self.list_template, {"crud": self, "rows": rows, "show_past": show_past})


def _from_form(service, fields):
    """SettingsCrud hands its valid form over; the services take plain values."""

    def save(*, actor, organisation, form):
        return service(
            actor=actor, organisation=organisation, instance=form.instance if form.instance.pk else None,
            fields={name: value for name, value in form.cleaned_data.items() if name in fields},
        )

    return save


def _crud(kind, *args, **kwargs) -> SettingsCrud:
    """A configuration list of the reports: administrators only, under the console's
    URL names and templates."""
    return kind(
        *args, **kwargs, form_takes_commune=True, permission=PERMISSION, namespace="reports", url_prefix="console_",
        list_template="reports/configuration_list.html", form_template="reports/configuration_form.html",
    )


CATEGORIES = _crud(
    SettingsCrud,
    Category, CategoryForm, "categories", "Catégories de signalement", "une catégorie",
    [
        (lambda c: str(c), "Catégorie"),
        (_deadline, "Délai de traitement"),
        (_competence, "Communes"),
        (lambda c: _yes_no(c.is_active), "Proposée"),
    ],
    save=_from_form(report_category_save, CATEGORY_FIELDS), delete=report_category_delete, queryset=_categories,
    intro="Ce que les habitants peuvent signaler, sur deux niveaux (un groupe, puis ses catégories), "
    "et le délai de traitement de chacune.",
)


def _questions(request):
    return CategoryQuestion.objects.filter(category__organisation=request.commune).select_related(
        "category__parent"
    ).order_by("category__parent__name", "category__name", "position", "id")


QUESTIONS = _crud(
    SettingsCrud,
    CategoryQuestion, QuestionForm, "questions", "Questions par catégorie", "une question",
    [
        (lambda q: str(q.category), "Catégorie"),
        ("label", "Question"),
        (lambda q: q.get_kind_display(), "Réponse"),
        (lambda q: _yes_no(q.required), "Obligatoire"),
    ],
    save=_from_form(category_question_save, QUESTION_FIELDS), delete=category_question_delete, queryset=_questions,
    intro="Les précisions demandées aux habitants avec une catégorie (« Le lampadaire est-il éteint ou "
    "clignote-t-il ? ») ; les applications qui utilisent Open311 les reçoivent comme attributs.",
)
RULES = _crud(
    SettingsCrud,
    RoutingRule, RoutingRuleForm, "orientation", "Règles d’orientation", "une règle",
    [
        ("position", "Ordre"),
        ("name", "Nom"),
        (lambda r: str(r.category) if r.category_id else "toutes", "Catégorie"),
        (lambda r: r.sector.name if r.sector_id else "tous", "Quartier"),
        (lambda r: r.get_when_display(), "Quand"),
        (_destination, "Destinataire"),
        (lambda r: _yes_no(r.is_active), "Active"),
    ],
    save=_from_form(routing_rule_save, RULE_FIELDS), delete=routing_rule_delete, queryset=_rules,
    intro="Où part chaque signalement : la première règle qui correspond, dans l’ordre, l’emporte ; "
    "sans règle qui corresponde, il va au service de tri.",
)
SHIFTS = _crud(
    ShiftCrud,
    OnCallShift, OnCallShiftForm, "astreintes", "Astreintes", "une astreinte",
    [
        (lambda s: s.service.name, "Service"),
        (lambda s: s.agent.display_name, "Agent"),
        (lambda s: _when(s.starts_at), "Début"),
        (lambda s: _when(s.ends_at), "Fin"),
    ],
    save=_from_form(on_call_shift_save, SHIFT_FIELDS), delete=on_call_shift_delete, queryset=_shifts,
    intro="En dehors des heures d’ouverture, les règles « astreinte » envoient le signalement "
    "à l’agent d’astreinte du service, qui est prévenu aussitôt.",
)
CRUDS = [CATEGORIES, QUESTIONS, RULES, SHIFTS]


@requires(PERMISSION)
def report_settings(request):
    config, _ = ReportSettings.objects.get_or_create(organisation=request.commune)
    form = ReportSettingsForm(request.POST or None, organisation=request.commune, config=config)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            data = form.cleaned_data
            try:
                report_settings_update(
                    actor=request.user, organisation=request.commune, triage_service=data["triage_service"],
                    office_hours=form.office_hours, escalation_minutes=data["escalation_minutes"],
                    retention_days=data["retention_days"],
                )
            except ValidationError as exc:
                to_form(form, exc)
            else:
                messages.success(request, "Réglages enregistrés.")
                return redirect("reports:console_settings")
        status = 400
    return render(request, "reports/configuration.html", {"form": form}, status=status)
