"""Writes of an organisation's report configuration: categories, routing rules,
on-call rota, and its ReportSettings. One transaction each, journaled in it.

The checks live here (``check_*``), so that forms show their errors next to
the fields and the services refuse the same things whoever calls them.
"""

from collections.abc import Mapping
from datetime import time

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q

from beffroi.core import journal
from beffroi.core.models import Membership, Organisation, Sector, Service
from beffroi.reports.models import Category, CategoryQuestion, OnCallShift, ReportSettings, RoutingRule
from beffroi.reports.questions import check_options

WEEKDAYS = ["Lundi", "Mardi", "Mercredi", "Jeudi", "Vendredi", "Samedi", "Dimanche"]
MAX_RANGES = 2


# --- Who may be chosen ------------------------------------------------------------------


def rule_target_organisations(organisation):
    """Where an organisation's rules may send reports: itself, the bodies
    attached to it (its communes, its CCAS), and the body it is attached to."""
    allowed = Q(pk=organisation.pk) | Q(parent=organisation)
    if organisation.parent_id:
        allowed |= Q(pk=organisation.parent_id)
    return Organisation.objects.active().filter(allowed)


def rule_sectors(organisation):
    """Sectors a rule may name: the commune's, or those of the agglomeration's communes."""
    return Sector.objects.filter(Q(organisation=organisation) | Q(organisation__parent=organisation)).select_related(
        "organisation"
    )


def is_member(user, organisation) -> bool:
    return Membership.objects.of(user, organisation).exists()


# --- Checks ---------------------------------------------------------------------------------


def check_category(category: Category, *, organisation, competent_for=()) -> None:
    errors = {}
    parent = category.parent
    if parent is not None:
        if parent.organisation_id != organisation.pk:
            errors["parent"] = "Ce groupe appartient à une autre organisation."
        elif parent.parent_id is not None:
            errors["parent"] = "Les catégories n’ont que deux niveaux : choisissez un groupe, pas une catégorie."
        elif category.pk is not None and parent.pk == category.pk:
            errors["parent"] = "Une catégorie ne peut pas être son propre groupe."
        elif category.pk is not None and category.children.exists():
            errors["parent"] = "Ce groupe contient des catégories : il ne peut pas entrer dans un autre groupe."
    duplicate = Category.objects.filter(organisation=organisation, slug=category.slug).exclude(pk=category.pk)
    if category.slug and duplicate.exists():
        errors["slug"] = "Une autre catégorie a déjà cet identifiant."
    communes = [c for c in competent_for if c.parent_id != organisation.pk or c.kind != Organisation.Kind.COMMUNE]
    if communes:
        errors["competent_for"] = "Seules les communes de l’agglomération peuvent être choisies."
    if errors:
        raise ValidationError(errors)


def check_question(question: CategoryQuestion, *, organisation) -> None:
    errors = {}
    category = question.category if question.category_id else None
    if category is None or category.organisation_id != organisation.pk:
        errors["category"] = "Choisissez une catégorie de l’organisation."
    elif category.children.exists():
        errors["category"] = "Choisissez une catégorie, pas un groupe : les habitants répondent pour une catégorie."
    elif CategoryQuestion.objects.filter(category=category, code=question.code).exclude(pk=question.pk).exists():
        errors["code"] = "Cette catégorie a déjà une question avec cet identifiant."
    try:
        check_options(question.kind, "\n".join(f"{k} : {v}" for k, v in question.options))
    except ValidationError as exc:
        errors["options_text"] = exc.messages
    if errors:
        raise ValidationError(errors)


def check_routing_rule(rule: RoutingRule, *, organisation) -> None:
    errors = {}
    if rule.category_id is not None and rule.category.organisation_id != organisation.pk:
        errors["category"] = "Les règles portent sur les catégories de l’organisation."
    if rule.sector_id is not None and not rule_sectors(organisation).filter(pk=rule.sector_id).exists():
        errors["sector"] = "Ce quartier n’appartient pas au territoire de l’organisation."
    target = rule.target_organisation if rule.target_organisation_id else None
    if target is None or not rule_target_organisations(organisation).filter(pk=target.pk).exists():
        errors["target_organisation"] = "Choisissez l’organisation elle-même, ou une organisation qui lui est rattachée."
    elif rule.target_service_id is not None and rule.target_service.organisation_id != target.pk:
        errors["target_service"] = f"Ce service n’appartient pas à l’organisation destinataire ({target.name})."
    if target is not None and rule.target_agent_id is not None and not is_member(rule.target_agent, target):
        errors["target_agent"] = f"Cette personne n’est pas membre de l’organisation destinataire ({target.name})."
    if errors:
        raise ValidationError(errors)


def check_shift(shift: OnCallShift, *, organisation) -> None:
    errors = {}
    if shift.service_id is not None and shift.service.organisation_id != organisation.pk:
        errors["service"] = "Ce service n’appartient pas à l’organisation."
    if shift.agent_id is not None and not is_member(shift.agent, organisation):
        errors["agent"] = "Cette personne n’est pas membre de l’organisation."
    if shift.starts_at and shift.ends_at:
        if shift.ends_at <= shift.starts_at:
            errors["ends_at"] = "La fin de l’astreinte doit suivre son début."
        elif shift.service_id is not None:
            overlapping = (
                OnCallShift.objects.filter(service_id=shift.service_id, starts_at__lt=shift.ends_at, ends_at__gt=shift.starts_at)
                .exclude(pk=shift.pk)
                .select_related("agent")
                .first()
            )
            if overlapping is not None:
                errors["starts_at"] = (
                    f"Ce service a déjà une astreinte à ces heures : {overlapping}. Un service n’a qu’un agent d’astreinte à la fois."
                )
    if errors:
        raise ValidationError(errors)


def check_office_hours(hours: dict) -> dict:
    """``{"0": [["08:30", "12:00"], ...], ...}``, Monday = "0": at most two ranges a
    day, each ending after it starts, not overlapping. Returns it sorted."""
    errors = {}
    cleaned = {}
    for day, ranges in hours.items():
        if day not in {str(d) for d in range(7)}:
            raise ValidationError("Jour de la semaine inconnu.")
        if len(ranges) > MAX_RANGES:
            errors[day] = f"{MAX_RANGES} plages horaires au plus par jour."
            continue
        parsed = []
        for start, end in ranges:
            try:
                start_time, end_time = time.fromisoformat(start), time.fromisoformat(end)
            except (TypeError, ValueError):
                errors[day] = "Heure illisible : écrivez-la sous la forme 08:30."
                break
            if end_time <= start_time:
                errors[day] = f"La fermeture ({end}) doit suivre l’ouverture ({start})."
                break
            parsed.append((start_time, end_time))
        else:
            parsed.sort()
            if len(parsed) == 2 and parsed[1][0] < parsed[0][1]:
                errors[day] = "Les deux plages se chevauchent."
            elif parsed:
                cleaned[day] = [[s.strftime("%H:%M"), e.strftime("%H:%M")] for s, e in parsed]
    if errors:
        raise ValidationError({f"day_{day}": message for day, message in errors.items()})
    return cleaned


# --- Writes ---------------------------------------------------------------------------------


def _record(actor, organisation, instance, *, creating: bool, changed) -> None:
    journal.record(
        actor=actor,
        organisation=organisation,
        action=f"{instance._meta.model_name}.{'create' if creating else 'update'}",
        target=instance,
        data={"changed": sorted(changed)},
    )


# The fields each save takes (plain values, as a form's cleaned data gives them).
CATEGORY_FIELDS = ("name", "parent", "slug", "description", "deadline_days", "position", "competent_for", "is_active")
QUESTION_FIELDS = ("category", "label", "code", "help_text", "kind", "options", "required", "position")
RULE_FIELDS = (
    "name", "position", "category", "sector", "when", "target_organisation", "target_service", "target_agent", "is_active",
)
SHIFT_FIELDS = ("service", "agent", "starts_at", "ends_at")


def _save_checked(*, actor, organisation, objects, instance, fields: Mapping, allowed, check, lock=None):
    """Create (``instance`` None) or update one of ``objects`` (the organisation's)
    with ``fields``, after ``check``, and journal it. ``lock`` (the object) runs
    first, for checks that must see concurrent saves."""
    unknown = set(fields) - set(allowed)
    if unknown:
        raise TypeError(f"Unknown fields: {', '.join(sorted(unknown))}")
    model = objects.model
    creating = instance is None
    if creating:
        current = model(organisation=organisation) if hasattr(model, "organisation_id") else model()
    else:
        current = objects.select_for_update().filter(pk=instance.pk).first()
        if current is None:
            raise ValidationError("Cet élément n’appartient pas à l’organisation.")
    many = {name: list(value or ()) for name, value in fields.items() if model._meta.get_field(name).many_to_many}
    changed = []
    for name, value in fields.items():
        if name in many:
            before = set() if creating else set(getattr(current, name).values_list("pk", flat=True))
            if before != {item.pk for item in many[name]}:
                changed.append(name)
        elif creating or getattr(current, name) != value:
            setattr(current, name, value)
            changed.append(name)
    if lock is not None:
        lock(current)
    check(current)
    current.full_clean(exclude=list(many))
    current.save()
    for name, items in many.items():
        getattr(current, name).set(items)
    _record(actor, organisation, current, creating=creating, changed=changed)
    return current


def _delete(*, actor, organisation, instance) -> None:
    journal.record(actor=actor, organisation=organisation, action=f"{instance._meta.model_name}.delete", target=instance)
    instance.delete()


@transaction.atomic
def report_category_save(*, actor, organisation, instance: Category | None = None, fields: Mapping) -> Category:
    """Create or update a category of ``organisation`` (``fields``: of CATEGORY_FIELDS)."""
    return _save_checked(
        actor=actor, organisation=organisation, objects=Category.objects.filter(organisation=organisation),
        instance=instance, fields=fields, allowed=CATEGORY_FIELDS,
        check=lambda category: check_category(
            category, organisation=organisation, competent_for=fields.get("competent_for") or ()
        ),
    )


@transaction.atomic
def report_category_delete(*, actor, organisation, instance: Category) -> None:
    """Refused while routing rules name it (they would vanish with it); a
    category with reports is protected by the database: deactivate it instead."""
    used = RoutingRule.objects.filter(Q(category=instance) | Q(category__parent=instance)).values_list("name", flat=True)
    if used:
        names = ", ".join(f"« {name} »" for name in used[:5])
        raise ValidationError(f"Des règles d’orientation portent sur cette catégorie ({names}) : modifiez-les d’abord.")
    _delete(actor=actor, organisation=organisation, instance=instance)


@transaction.atomic
def category_question_save(
    *, actor, organisation, instance: CategoryQuestion | None = None, fields: Mapping
) -> CategoryQuestion:
    """Create or update a question (``fields``: of QUESTION_FIELDS). Reports already
    filed keep the answers as they were asked."""
    return _save_checked(
        actor=actor, organisation=organisation,
        objects=CategoryQuestion.objects.filter(category__organisation=organisation),
        instance=instance, fields=fields, allowed=QUESTION_FIELDS,
        check=lambda question: check_question(question, organisation=organisation),
    )


@transaction.atomic
def routing_rule_save(*, actor, organisation, instance: RoutingRule | None = None, fields: Mapping) -> RoutingRule:
    """Create or update a routing rule (``fields``: of RULE_FIELDS)."""
    return _save_checked(
        actor=actor, organisation=organisation, objects=RoutingRule.objects.filter(organisation=organisation),
        instance=instance, fields=fields, allowed=RULE_FIELDS,
        check=lambda rule: check_routing_rule(rule, organisation=organisation),
    )


@transaction.atomic
def on_call_shift_save(*, actor, organisation, instance: OnCallShift | None = None, fields: Mapping) -> OnCallShift:
    """Create or update a shift of the rota (``fields``: of SHIFT_FIELDS)."""
    # Checked with the service locked: two people saving shifts of the same
    # service at once must not both pass the overlap check.
    return _save_checked(
        actor=actor, organisation=organisation, objects=OnCallShift.objects.filter(service__organisation=organisation),
        instance=instance, fields=fields, allowed=SHIFT_FIELDS,
        lock=lambda shift: Service.objects.select_for_update().filter(pk=shift.service_id).first(),
        check=lambda shift: check_shift(shift, organisation=organisation),
    )


# Deleting these names no other object: journaled, then gone.
category_question_delete = routing_rule_delete = on_call_shift_delete = transaction.atomic(_delete)


@transaction.atomic
def report_settings_update(
    *, actor, organisation, triage_service, office_hours: dict, escalation_minutes: int, retention_days: int
) -> ReportSettings:
    if triage_service is not None and triage_service.organisation_id != organisation.pk:
        raise ValidationError({"triage_service": "Ce service n’appartient pas à l’organisation."})
    office_hours = check_office_hours(office_hours)
    if escalation_minutes < 1 or retention_days < 1:
        raise ValidationError("Les délais sont d’au moins une minute et d’au moins un jour.")
    config, created = ReportSettings.objects.select_for_update().get_or_create(organisation=organisation)
    values = {
        "triage_service": triage_service,
        "office_hours": office_hours,
        "escalation_minutes": escalation_minutes,
        "retention_days": retention_days,
    }
    changed = [name for name, value in values.items() if getattr(config, name) != value]
    for name in changed:
        setattr(config, name, values[name])
    config.save()
    journal.record(
        actor=actor, organisation=organisation, action="reportsettings.update", target=config,
        data={"changed": sorted(changed)},
    )
    return config
