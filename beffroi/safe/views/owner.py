"""The beneficiary's pages: their documents, folders, contacts, notes,
appointments, links, journal and data. Thin: checks, then a service."""

from functools import wraps

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from beffroi.core import throttle
from beffroi.core.errors import to_form, to_messages
from beffroi.edge.bodies import await_body, declared_length, large_body
from beffroi.safe import forms
from beffroi.safe.access import Viewer, visible, visible_documents
from beffroi.safe.auth import restriction
from beffroi.safe.downloads import document_response, thumbnail_response
from beffroi.safe.events import readable
from beffroi.safe.keys import safe_key
from beffroi.safe.models import Appointment, Contact, Document, Folder, Link, Note, SafeEvent
from beffroi.safe.presenters import document_rows, documents_listing, link_rows
from beffroi.safe.quota import room_bytes
from beffroi.safe.services import documents as document_services
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.assisted import waiting_reset, waiting_reset_cancel
from beffroi.safe.services.links import link_answer, link_break, link_request, link_set_deposit, share_set
from beffroi.safe.services.notices import notices_mark_seen, unseen_notices
from beffroi.safe.services.records import read
from beffroi.safe.uploads import (
    DETAILS_HEADER,
    FIELD,
    MULTIPART_OVERHEAD,
    NO_ROOM,
    EncryptingUploadHandler,
    UploadRefused,
    max_document_bytes,
    max_multipart_bytes,
    receive_body,
    too_heavy,
)


def owner_required(view=None, *, restricted_ok: bool = False):
    """Signed in, with a safe: the owner is the only one who reaches these pages.

    A session opened with a waiting password (auth.py) reaches only the views
    marked ``restricted_ok``, and sees there through the link of the
    organisation that asked for it (``request.restricted``): what the safe
    shares with that organisation, nothing more.
    """
    if view is None:
        return lambda view: owner_required(view, restricted_ok=restricted_ok)

    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        if not request.user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        safe = getattr(request.user, "safe", None) if hasattr(request.user, "safe") else None
        if safe is None:
            return render(request, "safe/no_safe.html", status=403)
        request.safe = safe
        request.restricted = restriction(request)
        if request.restricted is not None:
            if not restricted_ok:  # the middleware refuses it first; this holds if it ever did not
                return redirect("safe:home")
            request.viewer = Viewer(request.user, request.restricted.link)
        else:
            request.viewer = Viewer(request.user)
        return view(request, *args, **kwargs)

    return wrapper


def _fail(request, exc: ValidationError, fallback: str):
    to_messages(request, exc)
    return redirect(fallback)


# Opening a safe: per client address, and for everyone together (a flood from
# many addresses); an unverified, unlinked safe also holds little (quota.py).
OPENINGS_PER_ADDRESS = 5
OPENINGS_PER_HOUR = 200


def create_account(request):
    """A beneficiary opens their own safe (no e-mail needed). The answer shows
    their recovery codes, once, to print."""
    form = forms.AccountForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed = throttle.allow(request, scope="safe-open", limit=OPENINGS_PER_ADDRESS, window_seconds=3600) and (
            throttle.allow(scope="safe-open-all", limit=OPENINGS_PER_HOUR, window_seconds=3600, identity="all"))
        if not allowed:
            form.add_error(None, "Trop de coffres ouverts depuis cette connexion : réessayez dans une heure, ou "
                                 "demandez de l’aide à la mairie.")
            return render(request, "safe/create_account.html", {"form": form}, status=429)
        try:
            safe = safe_open(**form.service_arguments())
        except ValidationError as exc:
            to_form(form, exc)
        else:
            login(request, safe.owner, backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, "Votre coffre-fort est ouvert. Vous seul y avez accès.")
            if safe.has_phone:
                messages.info(request, safe.verification_refused or
                              "Un code de vérification vient de partir vers votre mobile : tapez-le dans « Mon compte ».")
            return render(request, "safe/recovery_codes.html", {"codes": safe.new_recovery_codes, "opening": True})
    status = 400 if form.is_bound else 200
    return render(request, "safe/create_account.html", {"form": form}, status=status)


@owner_required(restricted_ok=True)
def home(request, folder_id=None):
    key = safe_key(request.safe)
    if request.restricted is not None:
        return _restricted_home(request, key)
    folder = get_object_or_404(Folder, safe=request.safe, pk=folder_id) if folder_id else None
    context = {
        "folder": folder,
        **documents_listing(request.safe, key, folder),
        "upload_form": forms.UploadForm(safe=request.safe, key=key, initial={"folder": folder.pk if folder else ""}),
        "folder_form": forms.FolderForm(),
        "max_mb": settings.SAFE_MAX_DOCUMENT_MB,
        "notices": unseen_notices(request.safe, key),
        "waiting": waiting_reset(request.safe),
    }
    return render(request, "safe/home.html", context)


def _restricted_home(request, key):
    """Signed in with the waiting password: only what is shared with the organisation that asked."""
    viewer = request.viewer
    context = {
        "waiting": request.restricted,
        "rows": document_rows(visible_documents(viewer).select_related("safe"), key),
        "contacts": [read(c, key) for c in visible(viewer, Contact)],
        "notes": [read(n, key) for n in visible(viewer, Note)],
        "appointments": [(a, read(a, key)) for a in visible(viewer, Appointment)],
    }
    return render(request, "safe/restricted.html", context)


@owner_required
@require_POST
def notices_seen(request):
    notices_mark_seen(safe=request.safe, up_to=request.POST.get("jusqua", ""))
    return redirect("safe:home")


@owner_required
@require_POST
def waiting_cancel(request, waiting_id):
    try:
        waiting_reset_cancel(safe=request.safe, actor=request.user, waiting_id=waiting_id)
    except ValidationError as exc:
        return _fail(request, exc, reverse("safe:home"))
    messages.success(request, "Mot de passe provisoire annulé : il n’ouvre plus rien. Votre mot de passe reste le même.")
    return redirect("safe:home")


@large_body(limit=max_multipart_bytes)
@owner_required
@require_POST
@csrf_exempt  # checked by _upload, once the encrypting handler is in place
def upload(request):
    """Multipart upload (the form without scripts), encrypted while it is read.
    The CSRF check reads the body, so it runs after the handler is set
    (Django's documented pattern)."""
    back = reverse("safe:home")
    handler, refusal = begin_multipart(request, request.viewer, back)
    return refusal or _upload(request, handler)


@csrf_protect
def _upload(request, handler):
    return store_multipart(request, handler, request.viewer, reverse("safe:home"))


@large_body(limit=max_document_bytes)
@owner_required
@require_POST  # CSRF: the middleware checks the X-CSRFToken header (the body is the file)
def upload_body(request):
    """The page's uploader: the file is the request's body, its details in a header."""
    return store_body(request, request.viewer, reverse("safe:home"))


def _back(request, back: str, status: int = 302):
    """Where to go next. A page uploading with its progress bar asks for JSON:
    it then goes there itself, and the message waits for that page."""
    if request.headers.get("Accept") == "application/json":
        return JsonResponse({"url": back}, status=200 if status == 302 else status)
    return redirect(back)


def _refusal_before_body(request, viewer, back: str):
    """Checked before a byte of the file is received (in the edge's preflight too)."""
    if not viewer.is_owner and not viewer.link.may_deposit:  # document_store checks again, for certain
        messages.error(request, "Le bénéficiaire n’a pas autorisé votre organisation à déposer des documents.")
        return _back(request, back, 403)
    return None


def begin_multipart(request, viewer, back: str):
    """The form without scripts: the checks, then the encrypting handler; (handler, refusal)."""
    refusal = _refusal_before_body(request, viewer, back)
    if refusal is not None:
        return None, refusal
    handler = EncryptingUploadHandler(request, safe_id=viewer.safe.pk, limit=max_document_bytes())
    length = declared_length(request)
    if length is None:  # a chunked body: its size would be learnt only once received
        messages.error(request, "La taille du fichier n’est pas indiquée (en-tête Content-Length).")
        return None, _back(request, back, 411)
    if handler.announced_too_big(length):
        messages.error(request, too_heavy(handler.limit))
        return None, _back(request, back, 413)
    if length > room_bytes(viewer.safe) + MULTIPART_OVERHEAD:
        messages.error(request, NO_ROOM)
        return None, _back(request, back, 413)
    request.upload_handlers = [handler]
    await_body(request)
    return handler, None


def store_multipart(request, handler, viewer, back: str):
    files = request.FILES
    if handler.too_big:
        messages.error(request, too_heavy(handler.limit))
        return _back(request, back, 413)
    upload = files.get(FIELD)
    if upload is None:
        messages.error(request, "Choisissez un fichier à déposer.")
        return _back(request, back, 400)
    return _store(request, upload, forms.UploadDetailsForm(request.POST), viewer, back)


def store_body(request, viewer, back: str):
    """Details first, then the deposit right: nothing is read if either fails."""
    details = QueryDict(request.headers.get(DETAILS_HEADER, ""))
    form = forms.UploadDetailsForm(details)
    if not form.is_valid():
        for message in form.errors_text():
            messages.error(request, message)
        return _back(request, back, 400)
    refusal = _refusal_before_body(request, viewer, back)
    if refusal is not None:
        return refusal
    safe = viewer.safe
    try:
        upload = receive_body(request, safe_id=safe.pk, limit=max_document_bytes(),
                              room=room_bytes(safe), name=details.get("filename", "")[:255])
    except UploadRefused as refused:
        messages.error(request, refused.message)
        return _back(request, back, refused.status)
    return _store(request, upload, form, viewer, back)


def _store(request, upload, form, viewer, back: str):
    try:
        if not form.is_valid():
            raise ValidationError(form.errors_text())
        document_services.document_store(
            viewer=viewer, safe=viewer.safe, upload=upload,
            name=form.cleaned_data["name"], folder_id=form.cleaned_data["folder"] if viewer.is_owner else None,
            expires_on=form.cleaned_data["expires_on"],
        )
    except ValidationError as exc:
        to_messages(request, exc)
        return _back(request, back, 400)
    finally:
        upload.close()
    messages.success(request, "Document déposé.")
    return _back(request, back)


@owner_required
def document_detail(request, document_id):
    document = get_object_or_404(Document, safe=request.safe, pk=document_id)
    key = safe_key(request.safe)
    name = document_services.document_name(document, key)
    if request.method == "POST":
        form = forms.DocumentForm(request.POST, safe=request.safe, key=key)
        if form.is_valid():
            try:
                _apply_document_changes(request, document, form.cleaned_data, name)
            except ValidationError as exc:
                return _fail(request, exc, request.path)
            messages.success(request, "Modifications enregistrées.")
            return redirect(request.path)
        status = 400
    else:
        form = forms.DocumentForm(safe=request.safe, key=key, initial={
            "name": name, "folder": document.folder_id or "", "expires_on": document.expires_on,
        })
        status = 200
    context = {
        "document": document, "name": name, "form": form,
        "links": link_rows(request.safe, document),
    }
    return render(request, "safe/document.html", context, status=status)


def _apply_document_changes(request, document, data, name):
    viewer = request.viewer
    if data["name"] != name:
        document_services.document_rename(viewer=viewer, document=document, name=data["name"])
    if (data["folder"] or None) != (str(document.folder_id) if document.folder_id else None):
        document_services.document_move(viewer=viewer, document=document, folder_id=data["folder"] or None)
    if data["expires_on"] != document.expires_on:
        document_services.document_set_expiry(viewer=viewer, document=document, expires_on=data["expires_on"])


@owner_required(restricted_ok=True)
def document_file(request, document_id):
    document = get_object_or_404(Document, safe=request.safe, pk=document_id)
    return document_response(request, request.viewer, document, inline=request.GET.get("apercu") == "1")


@owner_required(restricted_ok=True)
def document_thumbnail(request, document_id):
    document = get_object_or_404(Document, safe=request.safe, pk=document_id)
    return thumbnail_response(request.viewer, document)


@owner_required
@require_POST
def document_delete(request, document_id):
    document = get_object_or_404(Document, safe=request.safe, pk=document_id)
    document_services.document_delete(viewer=request.viewer, document=document)
    messages.success(request, "Document supprimé.")
    return redirect("safe:home")


@owner_required
@require_POST
def folder_create(request):
    form = forms.FolderForm(request.POST)
    if not form.is_valid():
        return _fail(request, ValidationError(form.errors_text()), reverse("safe:home"))
    try:
        folder = document_services.folder_create(viewer=request.viewer, safe=request.safe, name=form.cleaned_data["name"],
                                                 parent_id=request.POST.get("parent") or None)
    except ValidationError as exc:
        return _fail(request, exc, reverse("safe:home"))
    return redirect("safe:folder", folder_id=folder.pk)


@owner_required
@require_POST
def folder_delete(request, folder_id):
    folder = get_object_or_404(Folder, safe=request.safe, pk=folder_id)
    try:
        document_services.folder_delete(viewer=request.viewer, folder=folder)
    except ValidationError as exc:
        return _fail(request, exc, reverse("safe:folder", kwargs={"folder_id": folder.pk}))
    messages.success(request, "Dossier supprimé.")
    return redirect("safe:home")


@owner_required
@require_POST
def share(request, link_id):
    """Share one item with one link, or stop: ``item`` is "document:<uuid>", "folder:<id>"…"""
    link = get_object_or_404(Link, safe=request.safe, pk=link_id)
    kind, _, pk = request.POST.get("item", "").partition(":")
    item = forms.owned_item(request.safe, kind, pk)
    if item is None:
        raise Http404
    back = forms.safe_return(request.POST.get("retour")) or reverse("safe:links")  # on every path: never elsewhere
    try:
        share_set(viewer=request.viewer, link=link, item=item, shared=request.POST.get("partager") == "1",
                  label=forms.item_label(item, safe_key(request.safe)))
    except ValidationError as exc:
        return _fail(request, exc, back)
    messages.success(request, "Partage enregistré.")
    return redirect(back)


@owner_required
def links(request):
    key = safe_key(request.safe)
    rows = [
        {"link": link, "shared": [forms.item_label(share.item, key) for share in link.shares.all()]}
        for link in request.safe.links.select_related("organisation").prefetch_related(
            "shares__document__safe", "shares__folder__safe", "shares__contact__safe", "shares__note__safe",
            "shares__appointment__safe").order_by("-created_at")
    ]
    return render(request, "safe/links.html", {"rows": rows, "request_form": forms.LinkRequestForm()})


@owner_required
@require_POST
def link_request_view(request):
    form = forms.LinkRequestForm(request.POST)
    if not form.is_valid():
        return _fail(request, ValidationError("Choisissez une organisation."), reverse("safe:links"))
    try:
        link_request(viewer=request.viewer, organisation=form.cleaned_data["organisation"])
    except ValidationError as exc:
        return _fail(request, exc, reverse("safe:links"))
    messages.success(request, f"Demande envoyée à {form.cleaned_data['organisation'].name}.")
    return redirect("safe:links")


@owner_required
@require_POST
def link_action(request, link_id, action):
    link = get_object_or_404(Link, safe=request.safe, pk=link_id)
    try:
        if action == "accepter":
            link_answer(actor=request.user, link=link, accept=True)
            messages.success(request, f"Lien avec {link.organisation.name} confirmé. Rien n’est partagé tant que vous "
                                      "ne l’avez pas choisi.")
        elif action == "refuser":
            link_answer(actor=request.user, link=link, accept=False)
            messages.success(request, "Proposition refusée.")
        elif action == "rompre":
            link_break(actor=request.user, link=link)
            messages.success(request, f"Lien avec {link.organisation.name} rompu : l’organisation n’a plus accès à rien.")
        elif action == "depot":
            link_set_deposit(viewer=request.viewer, link=link, allowed=request.POST.get("autoriser") == "1")
            messages.success(request, "Choix enregistré.")
        else:
            raise Http404
    except ValidationError as exc:
        return _fail(request, exc, reverse("safe:links"))
    return redirect("safe:links")


@owner_required
def journal(request):
    events = SafeEvent.objects.filter(safe=request.safe).order_by("-seq")[:200]
    return render(request, "safe/journal.html", {"rows": readable(events, safe=request.safe, key=safe_key(request.safe))})

