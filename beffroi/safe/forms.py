"""Forms of the safe's pages."""

from django import forms
from django.contrib.auth.password_validation import password_validators_help_texts
from django.utils.http import url_has_allowed_host_and_scheme

from beffroi.core.models import Organisation
from beffroi.safe.models import Appointment, Contact, Document, Folder, Note
from beffroi.safe.presenters import folder_tree
from beffroi.safe.services.documents import MAX_NAME, document_name, folder_name
from beffroi.safe.services.records import read


class AccountForm(forms.Form):
    username = forms.CharField(
        label="Identifiant", max_length=40,
        help_text="Celui que vous taperez pour entrer : lettres sans accent, chiffres, point ou tiret (3 caractères "
                  "au moins). Pas besoin d’adresse électronique.",
        widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}),
    )
    first_name = forms.CharField(label="Prénom (facultatif)", max_length=150, required=False,
                                 widget=forms.TextInput(attrs={"autocomplete": "given-name"}))
    password = forms.CharField(label="Mot de passe", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
                               help_text=" ".join(password_validators_help_texts()))
    phone = forms.CharField(
        label="Numéro de mobile (facultatif)", max_length=20, required=False,
        help_text="Pour les rappels de rendez-vous et les codes. Un code de vérification lui est envoyé : tant qu’il "
                  "n’est pas tapé, ce numéro ne reçoit rien d’autre. Jamais pour envoyer un mot de passe.",
        widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}),
    )

    def service_arguments(self) -> dict:
        data = self.cleaned_data
        return {"username": data["username"], "password": data["password"], "first_name": data["first_name"],
                "phone": data["phone"]}


class UploadForm(forms.Form):
    """Drawn on the page; the file itself is read by uploads.receive_body (the page's uploader) or
    uploads.EncryptingUploadHandler (the form posted without scripts)."""

    fichier = forms.FileField(label="Document (PDF, photo JPEG, PNG ou HEIC)",
                              widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/jpeg,image/png,image/heic,image/heif"}))
    name = forms.CharField(label="Nom (facultatif)", max_length=MAX_NAME, required=False,
                           help_text="Par exemple : Carte d’identité. Sinon, le nom du fichier.")
    folder = forms.ChoiceField(label="Dossier", required=False)
    expires_on = forms.DateField(label="Date d’expiration (facultatif)", required=False,
                                 widget=forms.DateInput(attrs={"type": "date"}),
                                 help_text="Pour une pièce d’identité ou un titre de séjour : vous serez prévenu avant.")

    def __init__(self, *args, safe, key, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].choices = [("", "Aucun (à la racine)"), *folder_tree(safe, key)]


class UploadDetailsForm(forms.Form):
    """The upload's other fields, read once the file is stored encrypted."""

    name = forms.CharField(max_length=MAX_NAME, required=False)
    folder = forms.CharField(max_length=20, required=False)
    expires_on = forms.DateField(required=False)

    def errors_text(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]


class FolderForm(forms.Form):
    name = forms.CharField(label="Nom du nouveau dossier", max_length=MAX_NAME)

    def errors_text(self) -> list[str]:
        return [message for messages in self.errors.values() for message in messages]


class DocumentForm(forms.Form):
    name = forms.CharField(label="Nom", max_length=MAX_NAME)
    folder = forms.ChoiceField(label="Dossier", required=False)
    expires_on = forms.DateField(label="Date d’expiration", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, safe, key, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["folder"].choices = [("", "Aucun (à la racine)"), *((str(pk), path) for pk, path in folder_tree(safe, key))]


class LinkRequestForm(forms.Form):
    organisation = forms.ModelChoiceField(
        label="Organisation", empty_label="Choisissez…",
        queryset=Organisation.objects.active().filter(
            kind__in=[Organisation.Kind.CCAS, Organisation.Kind.FRANCE_SERVICES, Organisation.Kind.ASSOCIATION]
        ).order_by("name"),
    )


ITEM_MODELS = {"document": Document, "folder": Folder, "contact": Contact, "note": Note, "appointment": Appointment}


def owned_item(safe, kind: str, pk: str):
    model = ITEM_MODELS.get(kind)
    if model is None:
        return None
    try:
        return model.objects.filter(safe=safe, pk=pk).first()
    except (ValueError, TypeError, forms.ValidationError):
        return None


def item_label(item, key: bytes) -> str:
    if isinstance(item, Document):
        return document_name(item, key)
    if isinstance(item, Folder):
        return "Dossier " + folder_name(item, key)
    data = read(item, key)
    return data.get("name") or data.get("title") or str(item)


def safe_return(url: str | None) -> str | None:
    """A local path to come back to, or None."""
    if url and url.startswith("/") and url_has_allowed_host_and_scheme(url, allowed_hosts=None):
        return url
    return None
