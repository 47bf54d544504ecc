"""Back-office forms of the core: the commune's settings and its staff."""

import json

from django import forms
from django.core.exceptions import ValidationError

from beffroi.core.geo import validate_area
from beffroi.core.images import ImageRejected, check_upload_size, sanitize_image
from beffroi.core.models import Membership, Organisation, Sector, Service

MAX_GEOJSON_BYTES = 2 * 1024 * 1024


class ServiceForm(forms.ModelForm):
    class Meta:
        model = Service
        fields = ["name", "slug", "email"]


class SectorForm(forms.ModelForm):
    area = forms.CharField(
        label="Périmètre (GeoJSON)",
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}),
        help_text="Un Polygon ou MultiPolygon GeoJSON, en longitude/latitude (WGS 84). "
        "Vous pouvez le dessiner sur geojson.io puis le coller ici.",
    )

    class Meta:
        model = Sector
        fields = ["name", "slug", "area"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk and not self.is_bound:
            self.initial["area"] = json.dumps(self.instance.area)

    def clean_area(self):
        text = self.cleaned_data["area"]
        if len(text.encode()) > MAX_GEOJSON_BYTES:
            raise ValidationError("Périmètre trop volumineux (2 Mo au plus).")
        try:
            area = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValidationError(f"Ce n’est pas du JSON valide (ligne {exc.lineno}, colonne {exc.colno}).") from exc
        if isinstance(area, dict) and area.get("type") == "FeatureCollection":
            features = area.get("features") or []
            if len(features) != 1:
                raise ValidationError("La collection doit contenir exactement un polygone.")
            area = features[0]
        if isinstance(area, dict) and area.get("type") == "Feature":
            area = area.get("geometry")
        validate_area(area)
        return area


class CommuneForm(forms.ModelForm):
    coat_of_arms = forms.FileField(label="Blason", required=False, help_text="PNG ou JPEG ; les métadonnées sont supprimées.")

    class Meta:
        model = Organisation
        fields = ["name", "brand_colour", "address", "phone", "email", "opening_hours"]
        widgets = {"brand_colour": forms.TextInput(attrs={"type": "color"}), "address": forms.Textarea(attrs={"rows": 3})}

    def clean_coat_of_arms(self):
        upload = self.cleaned_data.get("coat_of_arms")
        if not upload:
            return None
        try:
            check_upload_size(upload.size)
            return sanitize_image(upload.read())
        except ImageRejected as exc:
            raise ValidationError(str(exc)) from exc


class StaffInviteForm(forms.Form):
    first_name = forms.CharField(label="Prénom", max_length=150)
    last_name = forms.CharField(label="Nom", max_length=150)
    email = forms.EmailField(label="Adresse électronique professionnelle")
    role = forms.ChoiceField(
        label="Rôle",
        choices=[(r.value, r.label) for r in (Membership.Role.AGENT, Membership.Role.EDITOR, Membership.Role.ADMINISTRATOR)],
    )
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False, label="Service", empty_label="Aucun")

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(organisation=commune)


class MembershipForm(forms.Form):
    role = forms.ChoiceField(label="Rôle", choices=StaffInviteForm.base_fields["role"].choices)
    service = forms.ModelChoiceField(queryset=Service.objects.none(), required=False, label="Service", empty_label="Aucun")
    is_active = forms.BooleanField(label="Accès actif", required=False)

    def __init__(self, *args, commune, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["service"].queryset = Service.objects.filter(organisation=commune)
