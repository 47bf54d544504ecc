"""The one way from a service's ValidationError to a form, messages or JSON."""

import json

from django import forms
from django.contrib.messages import get_messages
from django.contrib.messages.storage.fallback import FallbackStorage
from django.contrib.sessions.backends.signed_cookies import SessionStore
from django.core.exceptions import ValidationError
from django.test import RequestFactory

from beffroi.core.errors import to_form, to_json, to_messages


class Form(forms.Form):
    name = forms.CharField(required=False)


PLAIN = ValidationError("Ce signalement est clos.")
BY_FIELD = ValidationError({"name": "Nom trop long.", "elsewhere": "Hors du formulaire.", "__all__": "Refusé."})


def test_plain_and_per_field_errors_land_on_the_form():
    form = Form({})
    assert form.is_valid()
    to_form(form, PLAIN)
    to_form(form, BY_FIELD)
    assert form.errors == {"__all__": ["Ce signalement est clos.", "Hors du formulaire.", "Refusé."],
                           "name": ["Nom trop long."]}


def test_messages_and_json_say_every_message():
    request = RequestFactory().get("/")
    request.session = SessionStore()
    request._messages = FallbackStorage(request)
    to_messages(request, BY_FIELD)
    to_messages(request, PLAIN)
    assert [m.message for m in get_messages(request)] == [
        "Nom trop long.", "Hors du formulaire.", "Refusé.", "Ce signalement est clos."]
    answer = to_json(BY_FIELD)
    assert answer.status_code == 400
    assert json.loads(answer.content) == {
        "detail": "Nom trop long. Hors du formulaire. Refusé.",
        "errors": [{"field": "name", "message": "Nom trop long."}, {"field": "elsewhere", "message": "Hors du formulaire."}],
    }
