"""List, create, edit and delete an organisation's settings objects, the same way for each.

``SettingsCrud`` describes one kind of object; ``urls()`` gives its four views.
Every write goes through its ``save``/``delete`` services (by default
``settings_object_save``/``settings_object_delete``); another app may give its
own, with its own URL namespace, templates and queryset.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import ProtectedError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import path, reverse

from beffroi.core.errors import to_form, to_messages
from beffroi.core.permissions import requires
from beffroi.core.services.settings_objects import settings_object_delete, settings_object_save


@dataclass
class SettingsCrud:
    model: type
    form_class: type
    slug: str  # URL segment, e.g. "quartiers"
    plural: str  # "Quartiers"
    singular: str  # "un quartier"
    # (attribute, heading); the attribute may be a function of the object.
    columns: list[tuple[str | Callable, str]] = field(default_factory=list)
    form_takes_commune: bool = False
    permission: str = "manage_site"
    namespace: str = "backoffice"
    url_prefix: str = ""  # before the model name in URL names: "console_" → "console_category_list"
    save: Callable = settings_object_save  # (*, actor, organisation, form) → instance
    delete: Callable = settings_object_delete  # (*, actor, organisation, instance)
    queryset: Callable | None = None  # request → the objects of its organisation
    list_template: str = "backoffice/crud_list.html"
    form_template: str = "backoffice/crud_form.html"
    intro: str = ""  # a sentence above the list

    @property
    def name(self) -> str:
        return self.model._meta.model_name

    def _url_name(self, action: str) -> str:
        return f"{self.url_prefix}{self.name}_{action}"

    @property
    def list_url(self) -> str:
        return f"{self.namespace}:{self._url_name('list')}"

    @property
    def create_url(self) -> str:
        return f"{self.namespace}:{self._url_name('create')}"

    @property
    def edit_url(self) -> str:
        return f"{self.namespace}:{self._url_name('edit')}"

    @property
    def delete_url(self) -> str:
        return f"{self.namespace}:{self._url_name('delete')}"

    def _form(self, request, instance=None):
        kwargs = {"instance": instance}
        if self.form_takes_commune:
            kwargs["commune"] = request.commune
        return self.form_class(request.POST or None, request.FILES or None, **kwargs)

    def _objects(self, request):
        if self.queryset is not None:
            return self.queryset(request)
        return self.model.objects.filter(organisation=request.commune)

    @staticmethod
    def _cell(obj, attr):
        return attr(obj) if callable(attr) else getattr(obj, attr)

    def list_view(self, request):
        rows = [
            {"object": obj, "cells": [self._cell(obj, attr) for attr, _ in self.columns]} for obj in self._objects(request)
        ]
        return render(request, self.list_template, {"crud": self, "rows": rows})

    def edit_view(self, request, pk=None):
        instance = get_object_or_404(self._objects(request), pk=pk) if pk else None
        form = self._form(request, instance)
        if request.method == "POST":
            if form.is_valid():
                try:
                    self.save(actor=request.user, organisation=request.commune, form=form)
                except ValidationError as exc:
                    to_form(form, exc)
                else:
                    messages.success(request, "Modifications enregistrées.")
                    return redirect(reverse(self.list_url))
            status = 400
        else:
            status = 200
        return render(request, self.form_template, {"crud": self, "form": form, "instance": instance}, status=status)

    def delete_view(self, request, pk):
        instance = get_object_or_404(self._objects(request), pk=pk)
        if request.method == "POST":
            try:
                self.delete(actor=request.user, organisation=request.commune, instance=instance)
            except ProtectedError:
                messages.error(request, "Suppression impossible : cet élément est encore utilisé.")
            except ValidationError as exc:
                to_messages(request, exc)
            else:
                messages.success(request, f"« {instance} » a été supprimé.")
            return redirect(reverse(self.list_url))
        cancel_url = reverse(self.list_url)
        return render(request, "backoffice/confirm_delete.html", {"object": instance, "cancel_url": cancel_url})

    def urls(self):
        guard = requires(self.permission)
        return [
            path(f"{self.slug}/", guard(self.list_view), name=self._url_name("list")),
            path(f"{self.slug}/ajouter/", guard(self.edit_view), name=self._url_name("create")),
            path(f"{self.slug}/<int:pk>/", guard(self.edit_view), name=self._url_name("edit")),
            path(f"{self.slug}/<int:pk>/supprimer/", guard(self.delete_view), name=self._url_name("delete")),
        ]
