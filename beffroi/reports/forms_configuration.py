"""Back-office forms of the report configuration (administrators)."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import slugify

from beffroi.core.errors import to_form
from beffroi.core.models import Organisation, Service, User
from beffroi.reports.models import Category, CategoryQuestion, OnCallShift, ReportSettings, RoutingRule
from beffroi.reports.questions import check_options
from beffroi.reports.services.configuration import (
    MAX_RANGES,
    WEEKDAYS,
    check_category,
    check_office_hours,
    check_question,
    check_routing_rule,
    check_shift,
    rule_sectors,
    rule_target_organisations,
)

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
ORDINALS = {1: "1re", 2: "2e"}


def _raise_on_fields(form, check) -> None:
    """Run a ``check_*`` of the services; put its errors on the form's fields."""
    try:
        check()
    except ValidationError as exc:
        to_form(form, exc)


def _members(organisations):
    return (
        User.objects.filter(
            memberships__organisation__in=organisations, memberships__is_active=True, is_active=True
        )
        .distinct()
        .order_by("last_name", "first_name", "username")
    )


class QuestionForm(forms.ModelForm):
    """A question of a category; its choices written one per line."""

    options_text = forms.CharField(
        label="Choix proposés", required=False, widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Pour une question à choix : un choix par ligne, « clé : libellé » ou le libellé seul "
        "(par exemple « eteint : Il est éteint »).",
    )

    class Meta:
        model = CategoryQuestion
        fields = ["category", "label", "code", "help_text", "kind", "required", "position"]
        help_texts = {
            "help_text": "Affichée aux habitants sous la question, si besoin de préciser.",
            "required": "Les habitants ne peuvent envoyer le signalement sans y répondre.",
            "position": "Les questions s’affichent dans l’ordre croissant de ce nombre.",
        }

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = commune
        self.fields["category"].queryset = (
            Category.objects.filter(organisation=commune).leaves().select_related("parent").order_by("parent__name", "name")
        )
        self.fields["category"].empty_label = "Choisissez…"
        self.fields["code"].required = False
        self.fields["code"].help_text = "Lettres, chiffres et tirets ; laissé vide, il est tiré de la question."
        if self.instance.pk and not self.is_bound:
            self.initial["options_text"] = "\n".join(f"{key} : {label}" for key, label in self.instance.options)

    def clean_code(self):
        code = self.cleaned_data.get("code") or slugify(self.cleaned_data.get("label") or "")[:40]
        if not code:
            raise ValidationError("Indiquez un identifiant.")
        return code

    def clean(self):
        cleaned = super().clean()
        kind = cleaned.get("kind")
        if kind:
            try:
                cleaned["options"] = self.instance.options = check_options(kind, cleaned.get("options_text") or "")
            except ValidationError as exc:
                self.add_error("options_text", exc)
        if not self.errors:
            # The instance gets the cleaned fields only after clean(): the check needs them now.
            self.instance.category, self.instance.code, self.instance.kind = cleaned["category"], cleaned["code"], kind
            _raise_on_fields(self, lambda: check_question(self.instance, organisation=self.organisation))
        return cleaned


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "parent", "slug", "description", "deadline_days", "position", "competent_for", "is_active"]
        widgets = {"competent_for": forms.CheckboxSelectMultiple}
        help_texts = {
            "deadline_days": "Compté en jours ouvrés : sans les samedis, dimanches et jours fériés. "
            "Pour un groupe, ce sont les délais de ses catégories qui s’appliquent.",
            "position": "Les catégories s’affichent dans l’ordre croissant de ce nombre.",
            "description": "Affichée aux habitants sous le nom, si besoin de préciser.",
            "is_active": "Une catégorie inactive n’est plus proposée aux habitants ; ses signalements restent.",
        }

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = commune
        groups = Category.objects.filter(organisation=commune, parent__isnull=True)
        if self.instance.pk:
            groups = groups.exclude(pk=self.instance.pk)
        self.fields["parent"].queryset = groups
        self.fields["parent"].empty_label = "Aucun : c’est un groupe, ou une catégorie isolée"
        self.fields["parent"].help_text = (
            "Deux niveaux : les habitants choisissent une catégorie dans un groupe (Voirie › Nid-de-poule)."
        )
        self.fields["slug"].required = False
        self.fields["slug"].help_text = "Lettres, chiffres et tirets ; laissé vide, il est tiré du nom."
        if commune.kind == Organisation.Kind.AGGLOMERATION:
            self.fields["competent_for"].queryset = Organisation.objects.communes().filter(parent=commune)
            self.fields["competent_for"].help_text = (
                "Les communes où l’agglomération traite cette catégorie ; aucune cochée : toutes."
            )
        else:
            del self.fields["competent_for"]

    def clean_slug(self):
        slug = self.cleaned_data.get("slug") or slugify(self.cleaned_data.get("name") or "")[:80]
        if not slug:
            raise ValidationError("Indiquez un identifiant.")
        return slug

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            candidate = Category(
                pk=self.instance.pk, organisation=self.organisation, parent=cleaned.get("parent"), slug=cleaned.get("slug")
            )
            _raise_on_fields(
                self,
                lambda: check_category(
                    candidate, organisation=self.organisation, competent_for=cleaned.get("competent_for") or ()
                ),
            )
        return cleaned


class RoutingRuleForm(forms.ModelForm):
    class Meta:
        model = RoutingRule
        fields = [
            "name", "position", "category", "sector", "when", "target_organisation", "target_service", "target_agent",
            "is_active",
        ]
        widgets = {"when": forms.RadioSelect}
        help_texts = {
            "name": "Pour vous y retrouver, et dans le motif d’orientation que lisent les agents.",
            "position": "Les règles sont essayées dans l’ordre croissant ; la première qui correspond l’emporte. "
            "Sans règle qui corresponde, le signalement va au service de tri.",
            "target_agent": "Facultatif : il reçoit aussi une notification. Hors des heures d’ouverture, "
            "l’agent d’astreinte du service l’emporte.",
        }

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = commune
        targets = rule_target_organisations(commune)
        several = targets.count() > 1
        category = self.fields["category"]
        category.queryset = Category.objects.filter(organisation=commune).select_related("parent").order_by(
            "parent__position", "parent__name", "position", "name"
        )
        category.empty_label = "Toutes les catégories"
        category.help_text = "Un groupe vaut pour toutes ses catégories."
        sector = self.fields["sector"]
        sector.queryset = rule_sectors(commune)
        sector.empty_label = "Tous les quartiers"
        if commune.kind == Organisation.Kind.AGGLOMERATION:
            sector.label_from_instance = lambda s: f"{s.organisation.name} — {s.name}"
        self.fields["target_organisation"].queryset = targets
        self.fields["target_organisation"].empty_label = None
        service = self.fields["target_service"]
        service.queryset = Service.objects.filter(organisation__in=targets).select_related("organisation").order_by(
            "organisation__name", "name"
        )
        if several:
            service.label_from_instance = lambda s: f"{s.organisation.name} — {s.name}"
        service.help_text = "Il doit appartenir à l’organisation destinataire."
        agent = self.fields["target_agent"]
        agent.queryset = _members(targets)
        agent.empty_label = "Aucun : tout le service"
        agent.label_from_instance = lambda u: u.display_name
        if not self.instance.pk and not self.is_bound:
            self.initial.setdefault("target_organisation", commune.pk)
            last = RoutingRule.objects.filter(organisation=commune).order_by("-position").first()
            self.initial.setdefault("position", (last.position + 10) if last else 10)

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            rule = RoutingRule(
                organisation=self.organisation,
                **{name: cleaned.get(name) for name in ("category", "sector", "target_organisation", "target_service",
                                                         "target_agent")},
            )
            _raise_on_fields(self, lambda: check_routing_rule(rule, organisation=self.organisation))
        return cleaned


class OnCallShiftForm(forms.ModelForm):
    class Meta:
        model = OnCallShift
        fields = ["service", "agent", "starts_at", "ends_at"]
        widgets = {"starts_at": DATETIME_WIDGET, "ends_at": DATETIME_WIDGET}
        labels = {"agent": "Agent d’astreinte"}
        help_texts = {"starts_at": "Heure de Paris.", "ends_at": "Heure de Paris ; après le début."}

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.organisation = commune
        self.fields["service"].queryset = Service.objects.filter(organisation=commune)
        self.fields["agent"].queryset = _members([commune])
        self.fields["agent"].label_from_instance = lambda u: u.display_name

    def clean(self):
        cleaned = super().clean()
        if not self.errors:
            shift = OnCallShift(
                pk=self.instance.pk, **{name: cleaned.get(name) for name in ("service", "agent", "starts_at", "ends_at")}
            )
            _raise_on_fields(self, lambda: check_shift(shift, organisation=self.organisation))
        return cleaned


class ReportSettingsForm(forms.Form):
    """The organisation's settings, with its weekly office hours: for each day,
    up to two ranges (start, end); a day left empty is closed."""

    triage_service = forms.ModelChoiceField(
        label="Service de tri",
        queryset=Service.objects.none(),
        required=False,
        empty_label="Aucun : la file commune de l’organisation",
        help_text="Reçoit les signalements qu’aucune règle d’orientation ne dirige.",
    )
    escalation_minutes = forms.IntegerField(
        label="Relance si un signalement n’est pas pris en compte après (minutes)", min_value=1, max_value=7 * 24 * 60,
        help_text="Le service, et son responsable, reçoivent alors un courriel.",
    )
    retention_days = forms.IntegerField(
        label="Effacement des photos et des textes, après la clôture (jours)", min_value=1, max_value=3650,
        help_text="Les signalements clos restent comptés dans le tableau de bord, sans leurs photos ni leurs textes.",
    )

    def __init__(self, *args, organisation, config: ReportSettings, **kwargs):
        initial = {
            "triage_service": config.triage_service_id,
            "escalation_minutes": config.escalation_minutes,
            "retention_days": config.retention_days,
        }
        for day in range(7):
            ranges = (config.office_hours or {}).get(str(day), [])
            for number in range(1, MAX_RANGES + 1):
                if number <= len(ranges):
                    initial[f"h{day}_{number}_start"], initial[f"h{day}_{number}_end"] = ranges[number - 1]
        super().__init__(*args, initial=initial, **kwargs)
        self.fields["triage_service"].queryset = Service.objects.filter(organisation=organisation)
        for day in range(7):
            for number in range(1, MAX_RANGES + 1):
                which = f"de la {ORDINALS[number]} plage du {WEEKDAYS[day].lower()}"
                for end, word in (("start", "Ouverture"), ("end", "Fermeture")):
                    self.fields[f"h{day}_{number}_{end}"] = forms.TimeField(
                        label=f"{word} {which}", required=False,
                        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
                    )
        self.office_hours: dict = {}

    def general_fields(self):
        return [self[name] for name in ("triage_service", "escalation_minutes", "retention_days")]

    def days(self):
        """For the template: each day with its ranges of (start, end) bound fields."""
        for day, name in enumerate(WEEKDAYS):
            ranges = [
                (ORDINALS[n], self[f"h{day}_{n}_start"], self[f"h{day}_{n}_end"]) for n in range(1, MAX_RANGES + 1)
            ]
            yield {"index": day, "name": name, "ranges": ranges}

    def clean(self):
        cleaned = super().clean()
        hours = {}
        for day in range(7):
            ranges = []
            for number in range(1, MAX_RANGES + 1):
                start, end = cleaned.get(f"h{day}_{number}_start"), cleaned.get(f"h{day}_{number}_end")
                if (start is None) != (end is None):
                    missing = f"h{day}_{number}_{'end' if end is None else 'start'}"
                    if not self.has_error(missing):
                        self.add_error(missing, "Indiquez l’ouverture et la fermeture, ou aucune des deux.")
                elif start is not None:
                    ranges.append([start.strftime("%H:%M"), end.strftime("%H:%M")])
            if ranges:
                hours[str(day)] = ranges
        try:
            self.office_hours = check_office_hours(hours)
        except ValidationError as exc:
            for key, errors in exc.message_dict.items():
                day = key.removeprefix("day_")
                self.add_error(f"h{day}_1_start", errors)
        return cleaned
