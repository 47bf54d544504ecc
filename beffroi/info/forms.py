"""Forms of the public pages (filters) and of the back office."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone

from beffroi.core.images import ImageRejected, check_upload_size, sanitize_image
from beffroi.core.models import Sector
from beffroi.info.models import Post, Screen, Topic


class FeedFilterForm(forms.Form):
    """?theme=…&secteur=… on public lists."""

    theme = forms.ModelChoiceField(
        queryset=Topic.objects.none(), required=False, to_field_name="slug", label="Thème", empty_label="Tous les thèmes"
    )
    secteur = forms.ModelChoiceField(
        queryset=Sector.objects.none(),
        required=False,
        to_field_name="slug",
        label="Quartier",
        empty_label="Toute la commune",
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["theme"].queryset = Topic.objects.filter(organisation=commune)
        self.fields["theme"].error_messages["invalid_choice"] = "Ce thème n’existe pas."
        self.fields["secteur"].queryset = Sector.objects.filter(organisation=commune)
        self.fields["secteur"].error_messages["invalid_choice"] = "Ce quartier n’existe pas."


class AgendaFilterForm(FeedFilterForm):
    mois = forms.DateField(required=False, input_formats=["%Y-%m"], label="Mois")
    mois.error_messages["invalid"] = "Mois invalide : utilisez la forme AAAA-MM, par exemple 2026-12."


class PushChoiceForm(forms.Form):
    """What an inhabitant wants to be notified of (the page works without JS too)."""

    alerts = forms.BooleanField(required=False, initial=True, label="Les alertes (urgences, intempéries, coupures)")
    topics = forms.ModelMultipleChoiceField(
        queryset=Topic.objects.none(), required=False, to_field_name="slug", widget=forms.CheckboxSelectMultiple, label="Thèmes"
    )
    sectors = forms.ModelMultipleChoiceField(
        queryset=Sector.objects.none(),
        required=False,
        to_field_name="slug",
        widget=forms.CheckboxSelectMultiple,
        label="Quartiers",
        help_text="Sans choix, toute la commune.",
    )

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = Topic.objects.filter(organisation=commune)
        self.fields["sectors"].queryset = Sector.objects.filter(organisation=commune)


# --- Back office ----------------------------------------------------------------

DATETIME_WIDGET = forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
DATETIME_FORMATS = ["%Y-%m-%dT%H:%M", "%Y-%m-%d %H:%M", "%d/%m/%Y %H:%M"]


class PostForm(forms.ModelForm):
    """One form for the four kinds; ``KIND_FIELDS`` says which fields each shows."""

    KIND_FIELDS = {
        Post.Kind.NEWS: ["title", "summary", "body", "topic", "sectors", "image", "image_alt", "expires_at"],
        Post.Kind.EVENT: [
            "title", "summary", "starts_at", "ends_at", "place", "topic", "sectors", "body", "image", "image_alt",
        ],
        Post.Kind.WORKS: [
            "title", "summary", "starts_at", "ends_at", "place", "sectors", "traffic", "topic", "body", "image", "image_alt",
        ],
        Post.Kind.ALERT: ["title", "level", "summary", "expires_at", "sectors", "body"],
    }

    REQUIRED_BY_KIND = {
        Post.Kind.EVENT: ("starts_at", "place"),
        Post.Kind.WORKS: ("starts_at",),
        Post.Kind.ALERT: ("level", "summary", "expires_at"),
    }

    image = forms.FileField(
        label="Image",
        required=False,
        help_text="JPEG, PNG, WebP ou HEIC, 10 Mo au plus. Les métadonnées (lieu, appareil) sont supprimées.",
        widget=forms.ClearableFileInput(attrs={"accept": "image/jpeg,image/png,image/webp,image/heic,image/heif"}),
    )

    class Meta:
        model = Post
        fields = [
            "title", "summary", "body", "topic", "sectors", "image_alt",
            "starts_at", "ends_at", "place", "traffic", "level", "expires_at",
        ]
        widgets = {
            "summary": forms.Textarea(attrs={"rows": 3}),
            "body": forms.Textarea(attrs={"rows": 10}),
            "sectors": forms.CheckboxSelectMultiple,
            "starts_at": DATETIME_WIDGET,
            "ends_at": DATETIME_WIDGET,
            "expires_at": DATETIME_WIDGET,
        }

    def __init__(self, *args, commune, kind, **kwargs):
        super().__init__(*args, **kwargs)
        self.kind = kind
        for name in list(self.fields):
            if name not in self.KIND_FIELDS[kind]:
                del self.fields[name]
        self.order_fields(self.KIND_FIELDS[kind])
        # What Post.clean requires for this kind, said on the form too.
        for name in self.REQUIRED_BY_KIND.get(kind, ()):
            self.fields[name].required = True
        if "topic" in self.fields:
            self.fields["topic"].queryset = Topic.objects.filter(organisation=commune)
            self.fields["topic"].empty_label = "Aucun thème"
        if "sectors" in self.fields:
            self.fields["sectors"].queryset = Sector.objects.filter(organisation=commune)
            self.fields["sectors"].help_text = "Sans choix : toute la commune."
        for name in ("starts_at", "ends_at", "expires_at"):
            if name in self.fields:
                self.fields[name].input_formats = DATETIME_FORMATS
        if kind == Post.Kind.ALERT:
            self.fields["summary"].label = "Message"
            self.fields["expires_at"].help_text = "L’alerte disparaît d’elle-même à cette date."
        if kind == Post.Kind.EVENT:
            self.fields["topic"].label = "Catégorie"
        self.clean_image_data = None

    def clean_image(self):
        upload = self.cleaned_data.get("image")
        if upload is False:  # "clear" ticked
            return False
        if not upload:
            return None
        try:
            check_upload_size(upload.size)
            self.clean_image_data = sanitize_image(upload.read())
        except ImageRejected as exc:
            raise ValidationError(str(exc)) from exc
        return upload

    def clean(self):
        cleaned = super().clean()
        has_image = bool(self.clean_image_data) or (self.instance.image and cleaned.get("image") is not False)
        if "image_alt" in self.fields and has_image and not cleaned.get("image_alt"):
            self.add_error("image_alt", "Décrivez l’image en quelques mots (accessibilité).")
        return cleaned

    def post_fields(self) -> dict:
        return {k: v for k, v in self.cleaned_data.items() if k not in ("image", "sectors")}


class ScheduleForm(forms.Form):
    publish_at = forms.DateTimeField(label="Publier le", widget=DATETIME_WIDGET, input_formats=DATETIME_FORMATS)

    def clean_publish_at(self):
        value = self.cleaned_data["publish_at"]
        if value <= timezone.now():
            raise ValidationError("Choisissez une date à venir.")
        return value


class TopicForm(forms.ModelForm):
    class Meta:
        model = Topic
        fields = ["name", "slug", "position"]


class ScreenForm(forms.ModelForm):
    kinds = forms.MultipleChoiceField(
        label="Types affichés",
        choices=[c for c in Post.Kind.choices if c[0] != Post.Kind.ALERT],
        widget=forms.CheckboxSelectMultiple,
        help_text="Les alertes en cours passent toujours en premier.",
    )

    class Meta:
        model = Screen
        fields = ["name", "slug", "kinds", "topics", "sectors", "slide_seconds", "max_items"]
        widgets = {"topics": forms.CheckboxSelectMultiple, "sectors": forms.CheckboxSelectMultiple}

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["topics"].queryset = Topic.objects.filter(organisation=commune)
        self.fields["sectors"].queryset = Sector.objects.filter(organisation=commune)
        self.fields["slide_seconds"].min_value = 4
        self.fields["max_items"].min_value = 1
