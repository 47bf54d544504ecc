"""Forms of the signalements: the inhabitants' and the agents'."""

from django import forms
from django.core.exceptions import ValidationError
from django.db.models import Q

from beffroi.core.images import ImageRejected, check_upload_size, sanitize_image
from beffroi.core.models import Membership, Sector, Service
from beffroi.reports.models import (
    MAX_DESCRIPTION,
    MAX_MESSAGE,
    MAX_PHOTOS,
    Category,
    CategoryQuestion,
    Report,
    ReportEntry,
)
from beffroi.reports.questions import clean_answers
from beffroi.reports.selectors import AGES, PERIODS

PHOTO_TYPES = "image/jpeg,image/png,image/webp,image/heic,image/heif"


class MultiplePhotoInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class PhotosField(forms.FileField):
    """Up to MAX_PHOTOS photos, each checked by content and stripped."""

    widget = MultiplePhotoInput(attrs={"accept": PHOTO_TYPES, "multiple": True})

    def __init__(self, *, limit: int = MAX_PHOTOS, **kwargs):
        self.limit = limit
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def clean(self, data, initial=None):
        files = [f for f in (data if isinstance(data, (list, tuple)) else [data]) if f]
        if len(files) > self.limit:
            raise ValidationError(f"{self.limit} photo(s) au plus.")
        cleaned = []
        for upload in files:
            try:
                check_upload_size(upload.size)
                cleaned.append(sanitize_image(upload.read()))
            except ImageRejected as exc:
                raise ValidationError(f"« {upload.name[:60]} » : {exc}") from exc
        return cleaned


def form_categories(commune) -> list[Category]:
    """The categories a report can be filed under, with their group and their questions,
    in the form's order (one query for the categories, one for the questions)."""
    return list(
        Category.objects.for_commune(commune)
        .leaves()
        .select_related("parent")
        .prefetch_related("questions")
        .order_by("parent__position", "parent__name", "position", "name")
    )


def category_choices(categories) -> list:
    """Categories grouped under their group, as <optgroup>s."""
    groups: dict[str, list] = {}
    for category in categories:
        group = category.parent.name if category.parent_id else "Autres"
        groups.setdefault(group, []).append((str(category.pk), category.name))
    return [("", "Choisissez…"), *groups.items()]


def question_field(question: CategoryQuestion) -> forms.Field:
    """The form field of one question; never required by itself (only when its
    category is the one chosen: see ReportForm.clean)."""
    Kind = CategoryQuestion.Kind
    common = {"label": question.label, "required": False, "help_text": question.help_text}
    if question.kind == Kind.CHOICE:
        return forms.ChoiceField(choices=[("", "Choisissez…"), *question.options], **common)
    if question.kind == Kind.CHOICES:
        return forms.MultipleChoiceField(choices=question.options, widget=forms.CheckboxSelectMultiple, **common)
    if question.kind == Kind.TEXT:
        return forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}), **common)
    if question.kind == Kind.NUMBER:
        return forms.CharField(max_length=30, widget=forms.TextInput(attrs={"inputmode": "decimal"}), **common)
    if question.kind == Kind.DATETIME:
        return forms.CharField(max_length=30, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}), **common)
    return forms.CharField(max_length=200, **common)


class ReportForm(forms.Form):
    category = forms.ChoiceField(label="De quoi s’agit-il ?")
    description = forms.CharField(
        label="Décrivez le problème",
        max_length=MAX_DESCRIPTION,
        widget=forms.Textarea(attrs={"rows": 5}),
        help_text="Ce texte n’est lu que par les agents. N’y mettez pas votre nom ni vos coordonnées.",
    )
    latitude = forms.DecimalField(required=False, max_digits=9, decimal_places=6, min_value=-90, max_value=90, widget=forms.HiddenInput)
    longitude = forms.DecimalField(
        required=False, max_digits=9, decimal_places=6, min_value=-180, max_value=180, widget=forms.HiddenInput
    )
    address = forms.CharField(
        label="Adresse ou repère",
        max_length=300,
        required=False,
        help_text="Par exemple : devant l’école Jules Ferry, rue Jean Jaurès. Utile si la carte ne s’affiche pas.",
    )
    photos = PhotosField(label=f"Photos ({MAX_PHOTOS} au plus)", help_text="JPEG, PNG, WebP ou HEIC. Leurs métadonnées (lieu, appareil) sont supprimées.")

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.commune = commune
        categories = form_categories(commune)
        self._categories = {category.pk: category for category in categories}
        self.fields["category"].choices = category_choices(categories)
        # Every category's questions are in the page (shown for the chosen one
        # when scripts run; all of them, each under its category, without).
        self._questions: dict[int, list[tuple[str, CategoryQuestion]]] = {}
        for category in categories:
            for question in category.questions.all():
                question.category = category  # already loaded, with its group
                name = f"q-{category.pk}-{question.code}"
                field = question_field(question)
                field.question = question
                self.fields[name] = field
                self._questions.setdefault(category.pk, []).append((name, question))

    @property
    def question_groups(self) -> list[dict]:
        """For the template: each category that asks questions, with its fields."""
        return [
            {"category": pairs[0][1].category, "fields": [self[name] for name, _q in pairs]}
            for pairs in self._questions.values()
        ]

    def clean_category(self):
        value = self.cleaned_data["category"]
        category = self._categories.get(int(value))  # the choices were these categories
        if category is None:
            raise ValidationError("Cette catégorie n’existe pas pour cette commune.")
        return category

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("latitude") is None and cleaned.get("longitude") is None and not cleaned.get("address"):
            if not self.has_error("address"):
                self.add_error("address", "Indiquez le lieu : sur la carte, ou par une adresse ou un repère.")
        category = cleaned.get("category")
        cleaned["answers"] = {}
        if category is not None:
            # Only the chosen category's answers count; the others are ignored.
            asked = self._questions.get(category.pk, [])
            raw = {}
            for name, question in asked:
                value = cleaned.get(name)
                raw[question.code] = value if isinstance(value, list) else ([value] if value else [])
            try:
                clean_answers(category, raw)
            except ValidationError as exc:
                names = {question.code: name for name, question in asked}
                for code, messages in exc.message_dict.items():
                    if not self.has_error(names[code]):
                        self.add_error(names[code], messages)
            cleaned["answers"] = raw
        return cleaned


class AuthorMessageForm(forms.Form):
    text = forms.CharField(label="Votre message", max_length=MAX_MESSAGE, required=False, widget=forms.Textarea(attrs={"rows": 3}))
    photos = PhotosField(label="Ajouter une photo", limit=1)

    def clean(self):
        cleaned = super().clean()
        if not cleaned.get("text") and not cleaned.get("photos") and not self.errors:
            raise ValidationError("Écrivez un message ou ajoutez une photo.")
        return cleaned


# --- Console -----------------------------------------------------------------------------


class QueueFilterForm(forms.Form):
    etat = forms.ChoiceField(
        label="État", required=False, choices=[("", "Ouverts"), ("tous", "Tous"), *Report.Status.choices]
    )
    categorie = forms.ModelChoiceField(label="Catégorie", queryset=Category.objects.none(), required=False, empty_label="Toutes")
    service = forms.ModelChoiceField(label="Service", queryset=Service.objects.none(), required=False, empty_label="Tous")
    quartier = forms.ModelChoiceField(label="Quartier", queryset=Sector.objects.none(), required=False, empty_label="Tous")
    age = forms.ChoiceField(
        label="Déposés depuis", required=False,
        choices=[("", "Peu importe"), *((key, label) for key, (label, _newer, _older) in AGES.items())],
    )

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        received = Q(reports__organisation=organisation) | Q(children__reports__organisation=organisation)
        self.fields["categorie"].queryset = (
            Category.objects.filter(received).distinct().select_related("parent")
            .order_by("organisation_id", "parent__position", "parent__name", "position", "name")
        )
        self.fields["categorie"].help_text = "Un groupe vaut pour toutes ses catégories."
        self.fields["service"].queryset = Service.objects.filter(organisation=organisation)
        sectors = Sector.objects.filter(Q(organisation=organisation) | Q(organisation__parent=organisation))
        self.fields["quartier"].queryset = sectors.select_related("organisation").order_by("organisation__name", "name")
        if organisation.children.filter(sectors__isnull=False).exists():
            self.fields["quartier"].label_from_instance = lambda s: f"{s.organisation.name} — {s.name}"

    @property
    def is_filtered(self) -> bool:
        """Anything else than the default (open reports, all of them)."""
        return self.is_bound and self.is_valid() and any(self.cleaned_data.values())


class PeriodForm(forms.Form):
    periode = forms.TypedChoiceField(
        label="Période", choices=list(PERIODS.items()), coerce=int, required=False, empty_value=30
    )


class TransitionForm(forms.Form):
    text = forms.CharField(label="Message à l’auteur (facultatif, obligatoire pour un rejet)", required=False,
                           max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 2}))
    duplicate_of = forms.CharField(label="Code du signalement d’origine", required=False, max_length=12)


class TransferForm(forms.Form):
    service = forms.ModelChoiceField(label="Transférer au service", queryset=Service.objects.none())
    text = forms.CharField(label="Motif", required=False, max_length=MAX_MESSAGE)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.select_related("organisation").order_by("organisation__name", "name")
        self.fields["service"].empty_label = "Choisissez…"
        self.fields["service"].label_from_instance = lambda s: f"{s.organisation.name} — {s.name}"


class AssignForm(forms.Form):
    agent = forms.ModelChoiceField(label="Attribuer à", queryset=Membership.objects.none(), required=False, empty_label="Personne")

    def __init__(self, *args, organisation, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["agent"].queryset = Membership.objects.active().filter(organisation=organisation).select_related("user")
        self.fields["agent"].label_from_instance = lambda m: m.user.display_name


class MessageForm(forms.Form):
    kind = forms.ChoiceField(
        label="Type",
        choices=[
            (ReportEntry.Kind.REPLY, "Réponse publique (l’auteur la voit)"),
            (ReportEntry.Kind.QUESTION, "Question à l’auteur"),
            (ReportEntry.Kind.NOTE, "Note interne (agents seulement)"),
        ],
    )
    text = forms.CharField(label="Message", max_length=MAX_MESSAGE, widget=forms.Textarea(attrs={"rows": 3}))


class AgentPhotoForm(forms.Form):
    photos = PhotosField(label="Photo (de l’intervention, par exemple)", limit=1, required=True)


class ModerationForm(forms.Form):
    public_text = forms.CharField(
        label="Texte affiché sur la page publique", max_length=300, required=False,
        help_text="Le texte de l’auteur n’est jamais publié : écrivez ici ce que le public peut lire.",
    )
    photos = forms.MultipleChoiceField(label="Photos publiables", required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, report, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["photos"].choices = [(str(p.pk), f"Photo {i}") for i, p in enumerate(report.photos.all(), start=1)]
