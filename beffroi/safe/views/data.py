"""« Mes données »: export everything, or delete the account for good."""

from django.contrib import messages
from django.contrib.auth import authenticate, logout
from django.http import StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from beffroi.safe.crypto import TamperedError
from beffroi.safe.events import record_event
from beffroi.safe.export import export_zip
from beffroi.safe.keys import document_key, safe_key
from beffroi.safe.services.deletion import safe_delete
from beffroi.safe.services.documents import document_name, verify_document
from beffroi.safe.views.owner import owner_required


@owner_required
def my_data(request):
    return render(request, "safe/my_data.html", {"safe": request.safe})


@owner_required
@require_POST
def export(request):
    safe, key = request.safe, safe_key(request.safe)
    damaged = []
    for document in safe.documents.select_related("safe"):
        try:
            verify_document(document, document_key(key, document))
        except TamperedError:
            damaged.append(document_name(document, key))
    if damaged:
        return render(request, "safe/my_data.html", {"safe": safe, "damaged": damaged}, status=409)
    from django.db import transaction

    with transaction.atomic():
        record_event(safe=safe, key=key, actor=request.user, action="safe.export")
    response = StreamingHttpResponse(export_zip(safe, key), content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="mon-coffre-{timezone.localdate():%Y-%m-%d}.zip"'
    response["Cache-Control"] = "private, no-store"
    return response


@owner_required
@require_POST
def delete_account(request):
    password = request.POST.get("password", "")
    checked = authenticate(request, username=request.user.username, password=password) is not None
    if not checked or request.POST.get("confirmation") != "SUPPRIMER":
        messages.error(request, "Rien n’a été supprimé : tapez SUPPRIMER et votre mot de passe pour confirmer.")
        return redirect("safe:my_data")
    safe_delete(safe=request.safe, actor=request.user, password_checked=True)
    logout(request)
    messages.success(request, "Votre compte et tout votre coffre-fort ont été supprimés.")
    return redirect("/")
