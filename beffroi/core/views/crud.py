"""List, create, edit and delete a commune's settings objects, the same way for each.

``SettingsCrud`` describes one kind of object; ``urls()`` gives its four views.
Every write goes through ``settings_object_save``/``settings_object_delete``.
"""

from dataclasses import dataclass, field

from django.contrib import messages
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from beffroi.core.permissions import requires
from beffroi.core.services.settings_objects import settings_object_delete, settings_object_save


@dataclass
class SettingsCrud:
    model: type
    form_class: type
    slug: str  # URL segment, e.g. "quartiers"
    plural: str  # "Quartiers"
    singular: str  # "un quartier"
    columns: list[tuple[str, str]] = field(default_factory=list)  # (attribute, heading)
    form_takes_commune: bool = False
    permission: str = "manage_site"

    @property
    def name(self) -> str:
        return self.model._meta.model_name

    def _form(self, request, instance=None):
        kwargs = {"instance": instance}
        if self.form_takes_commune:
            kwargs["commune"] = request.commune
        return self.form_class(request.POST or None, request.FILES or None, **kwargs)

    def _objects(self, request):
        return self.model.objects.filter(organisation=request.commune)

    def list_view(self, request):
        rows = [
            {"object": obj, "cells": [getattr(obj, attr) for attr, _ in self.columns]} for obj in self._objects(request)
        ]
        return render(request, "backoffice/crud_list.html", {"crud": self, "rows": rows})

    def edit_view(self, request, pk=None):
        instance = get_object_or_404(self._objects(request), pk=pk) if pk else None
        form = self._form(request, instance)
        if request.method == "POST":
            if form.is_valid():
                settings_object_save(actor=request.user, organisation=request.commune, form=form)
                messages.success(request, "Modifications enregistrées.")
                return redirect(reverse(f"backoffice:{self.name}_list"))
            status = 400
        else:
            status = 200
        return render(request, "backoffice/crud_form.html", {"crud": self, "form": form, "instance": instance}, status=status)

    def delete_view(self, request, pk):
        instance = get_object_or_404(self._objects(request), pk=pk)
        if request.method == "POST":
            try:
                settings_object_delete(actor=request.user, organisation=request.commune, instance=instance)
            except ProtectedError:
                messages.error(request, "Suppression impossible : cet élément est encore utilisé.")
            else:
                messages.success(request, f"{instance} a été supprimé.")
            return redirect(reverse(f"backoffice:{self.name}_list"))
        cancel_url = reverse(f"backoffice:{self.name}_list")
        return render(request, "backoffice/confirm_delete.html", {"object": instance, "cancel_url": cancel_url})

    def urls(self):
        guard = requires(self.permission)
        return [
            path(f"{self.slug}/", guard(self.list_view), name=f"{self.name}_list"),
            path(f"{self.slug}/ajouter/", guard(self.edit_view), name=f"{self.name}_create"),
            path(f"{self.slug}/<int:pk>/", guard(self.edit_view), name=f"{self.name}_edit"),
            path(f"{self.slug}/<int:pk>/supprimer/", guard(self.delete_view), name=f"{self.name}_delete"),
        ]
