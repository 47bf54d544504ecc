"""One way from a service's ``ValidationError`` to what the person sees.

Services raise ``ValidationError`` with a dict (field → message) when the
fault belongs to a field the caller sent, with plain messages otherwise.
Views never read ``message_dict`` themselves (a plain error has none); they
call one of these:

- ``to_form(form, exc, field=None)``: each message on its field when the
  form has that field, on ``field`` (or the form as a whole) otherwise (a page
  that renders the form again);
- ``to_messages(request, exc)``: one message each, for a page that redirects;
- ``to_json(exc)``: the 400 answer of a script's request
  (``{"detail": …, "errors": [{"field": …, "message": …}]}``).
"""

from django.contrib import messages
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.http import JsonResponse


def faults(exc: ValidationError) -> list[tuple[str | None, str]]:
    """(field or None, message), in order."""
    if hasattr(exc, "error_dict"):
        return [
            (None if field == NON_FIELD_ERRORS else field, message)
            for field, field_messages in exc.message_dict.items()
            for message in field_messages
        ]
    return [(None, message) for message in exc.messages]


def to_form(form, exc: ValidationError, field: str | None = None) -> None:
    """``field``: where plain messages go, when the view knows which field they are about."""
    for name, message in faults(exc):
        form.add_error(name if name in form.fields else field, message)


def to_messages(request, exc: ValidationError) -> None:
    for _field, message in faults(exc):
        messages.error(request, message)


def to_json(exc: ValidationError, status: int = 400) -> JsonResponse:
    found = faults(exc)
    return JsonResponse({
        "detail": " ".join(message for _field, message in found),
        "errors": [{"field": field, "message": message} for field, message in found if field],
    }, status=status)
