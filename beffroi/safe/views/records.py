"""Contacts, notes and appointments of the beneficiary (one set of views for the three)."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from beffroi.core.errors import to_form
from beffroi.safe.keys import safe_key
from beffroi.safe.presenters import link_rows
from beffroi.safe.services import records as services
from beffroi.safe.services.records import FIELDS, MODELS, REMINDER_CHOICES, read
from beffroi.safe.views.owner import owner_required

# URL segment → (kind, plural title, singular with article)
KINDS = {
    "contacts": ("contact", "Contacts", "un contact"),
    "notes": ("note", "Notes", "une note"),
    "rendez-vous": ("appointment", "Rendez-vous", "un rendez-vous"),
}
LABELS = {
    "name": "Nom", "organisation": "Organisme", "phone": "Téléphone", "email": "Adresse électronique",
    "address": "Adresse", "note": "Remarque", "title": "Titre", "body": "Texte", "place": "Lieu",
}
TEXTAREAS = {"note", "body", "address"}


def record_form(kind: str, *args, **kwargs) -> forms.Form:
    fields = {}
    if kind == "appointment":
        fields["starts_at"] = forms.DateTimeField(label="Date et heure", widget=forms.DateTimeInput(
            attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M"))
    for name, limit in FIELDS[kind].items():
        widget = forms.Textarea(attrs={"rows": 4}) if name in TEXTAREAS else forms.TextInput()
        required = name in ("name", "title")
        fields[name] = forms.CharField(label=LABELS[name], max_length=limit, required=required, widget=widget)
    if kind == "appointment":
        fields["reminders"] = forms.MultipleChoiceField(
            label="Me le rappeler par SMS", required=False, widget=forms.CheckboxSelectMultiple,
            choices=[(str(k), v) for k, v in REMINDER_CHOICES.items()],
        )
    return type(f"{kind.title()}Form", (forms.Form,), fields)(*args, **kwargs)


def _kind(segment: str):
    if segment not in KINDS:
        raise Http404
    return KINDS[segment]


@owner_required
def record_list(request, kind):
    model_kind, title, _one = _kind(kind)
    key = safe_key(request.safe)
    items = MODELS[model_kind].objects.filter(safe=request.safe).select_related("safe")
    rows = [(item, read(item, key)) for item in items]
    if model_kind == "appointment":
        now = timezone.now()
        rows = [row for row in rows if row[0].starts_at >= now - timedelta(days=1)] + \
               [row for row in rows if row[0].starts_at < now - timedelta(days=1)]
    else:
        rows.sort(key=lambda row: (row[1].get("name") or row[1].get("title") or "").lower())
    return render(request, "safe/records.html", {"kind": kind, "title": title, "one": _one, "rows": rows,
                                                 "model_kind": model_kind})


@owner_required
def record_edit(request, kind, pk=None):
    model_kind, title, one = _kind(kind)
    key = safe_key(request.safe)
    item = get_object_or_404(MODELS[model_kind], safe=request.safe, pk=pk) if pk else None
    if request.method == "POST":
        form = record_form(model_kind, request.POST)
        if form.is_valid():
            data = form.cleaned_data
            try:
                services.record_save(viewer=request.viewer, safe=request.safe, kind=model_kind, data=data, item=item,
                            starts_at=data.get("starts_at"), reminders=data.get("reminders") or ())
            except ValidationError as exc:
                to_form(form, exc)
            else:
                messages.success(request, "Enregistré.")
                return redirect("safe:records", kind=kind)
        status = 400
    else:
        initial = read(item, key) if item else {}
        if item is not None and model_kind == "appointment":
            initial["starts_at"] = timezone.localtime(item.starts_at)
            initial["reminders"] = [str(o) for o in item.reminder_offsets]
        form = record_form(model_kind, initial=initial)
        status = 200
    context = {"kind": kind, "title": title, "one": one, "form": form, "item": item, "model_kind": model_kind,
               "links": link_rows(request.safe, item) if item else []}
    return render(request, "safe/record_form.html", context, status=status)


@owner_required
@require_POST
def record_delete(request, kind, pk):
    model_kind, _title, _one = _kind(kind)
    item = get_object_or_404(MODELS[model_kind], safe=request.safe, pk=pk)
    services.record_delete(viewer=request.viewer, item=item)
    messages.success(request, "Supprimé.")
    return redirect("safe:records", kind=kind)
