"""Pages of the professionals of support organisations (CCAS, France Services,
associations): the safes linked to their organisation, and in each only
what the beneficiary shares with it.

A professional signs in with a second factor, and must hold a role that may
open safes (``open_safes``) in the organisation they act for.
"""

from functools import wraps

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt, csrf_protect
from django.views.decorators.http import require_POST

from beffroi.core.errors import to_form, to_messages
from beffroi.core.staff_access import staff_user
from beffroi.edge.bodies import large_body
from beffroi.notify.sms.selectors import sms_counts
from beffroi.realtime import channels
from beffroi.realtime.bus import channel_head
from beffroi.safe.access import Viewer, professional_organisations, visible, visible_documents
from beffroi.safe.downloads import document_response
from beffroi.safe.keys import safe_key
from beffroi.safe.models import Appointment, Contact, Document, Link, Note
from beffroi.safe.presenters import document_rows
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.assisted import assisted_code_send, assisted_reset, assisted_reset_wait, waiting_reset
from beffroi.safe.services.links import link_answer, link_break, link_confirm_with_code, link_propose
from beffroi.safe.services.records import read
from beffroi.safe.uploads import max_document_bytes, max_multipart_bytes
from beffroi.safe.views.owner import begin_multipart, store_body, store_multipart


def professional_required(view):
    @wraps(view)
    @never_cache
    def wrapper(request, *args, **kwargs):
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if staff_user(request) is None:
            messages.info(request, "Les coffres-forts s’ouvrent avec une double authentification : activez-la ou "
                                   "reconnectez-vous avec elle.")
            return redirect("mfa_index")
        organisations = list(professional_organisations(user).order_by("name"))
        if not organisations:
            return render(request, "core/forbidden.html", status=403)
        request.organisations = organisations
        return view(request, *args, **kwargs)

    return wrapper


def _link(request, link_id) -> Link:
    """A link of one of the professional's organisations, active."""
    link = Link.objects.select_related("safe__owner", "organisation").filter(
        pk=link_id, organisation__in=request.organisations, status=Link.Status.ACTIVE
    ).first()
    if link is None:
        raise Http404
    return link


def _viewer(request, link) -> Viewer:
    return Viewer(request.user, link)


@professional_required
def safes(request):
    links = Link.objects.filter(organisation__in=request.organisations).exclude(
        status__in=[Link.Status.BROKEN, Link.Status.DECLINED]
    ).select_related("safe__owner", "organisation").order_by("organisation__name", "safe__owner__username")
    month = timezone.localtime().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    sms = [(organisation, sms_counts(organisation, month)) for organisation in request.organisations]
    return render(request, "safe/pro_safes.html", {"links": links, "propose_form": ProposeForm(request=request),
                                                   "sms": sms, "month": month})


class ProposeForm(forms.Form):
    username = forms.CharField(label="Identifiant du bénéficiaire", max_length=40)
    organisation = forms.ModelChoiceField(label="Au nom de", queryset=None, empty_label=None)

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["organisation"].queryset = professional_organisations(request.user).order_by("name")


class OpenForm(ProposeForm):
    first_name = forms.CharField(label="Prénom (facultatif)", max_length=150, required=False)
    password = forms.CharField(label="Mot de passe choisi par le bénéficiaire", widget=forms.PasswordInput(
        attrs={"autocomplete": "new-password"}))
    phone = forms.CharField(label="Mobile (facultatif)", max_length=20, required=False)


@professional_required
def open_account(request):
    """With the beneficiary present: the account, its safe, and the link with the organisation."""
    form = OpenForm(request.POST or None, request=request)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            safe = safe_open(username=data["username"], password=data["password"], first_name=data["first_name"],
                             phone=data["phone"], opened_by=request.user, organisation=data["organisation"])
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, f"Coffre de {safe.owner.display_name} ouvert et lié à {data['organisation'].name}. "
                                      "Rien n’est partagé tant que le bénéficiaire ne l’a pas choisi.")
            return redirect("safe:pro_safes")
    return render(request, "safe/pro_open.html", {"form": form}, status=400 if form.is_bound else 200)


@professional_required
@require_POST
def propose(request):
    form = ProposeForm(request.POST, request=request)
    if not form.is_valid():
        messages.error(request, "Indiquez l’identifiant du bénéficiaire.")
        return redirect("safe:pro_safes")
    user = get_user_model().objects.filter(username__iexact=form.cleaned_data["username"], safe__isnull=False).first()
    if user is None:
        messages.error(request, "Aucun coffre-fort n’a cet identifiant.")
        return redirect("safe:pro_safes")
    try:
        link = link_propose(actor=request.user, organisation=form.cleaned_data["organisation"], safe=user.safe)
    except ValidationError as exc:
        to_messages(request, exc)
        return redirect("safe:pro_safes")
    messages.success(request, "Lien proposé : le bénéficiaire l’accepte dans son coffre"
                     + (", ou vous donne le code reçu par SMS." if link.code_hash else "."))
    if link.sms_refused:
        messages.error(request, f"Le code n’a pas pu partir par SMS. {link.sms_refused}")
    return redirect("safe:pro_safes")


@professional_required
@require_POST
def confirm_code(request, link_id):
    link = Link.objects.filter(pk=link_id, organisation__in=request.organisations, status=Link.Status.PROPOSED).first()
    if link is None:
        raise Http404
    try:
        link_confirm_with_code(actor=request.user, link=link, code=request.POST.get("code", ""))
    except ValidationError as exc:
        to_messages(request, exc)
    else:
        messages.success(request, "Lien confirmé.")
    return redirect("safe:pro_safes")


@professional_required
@require_POST
def answer_request(request, link_id):
    """A beneficiary asked the organisation to accompany them: accept or decline."""
    link = Link.objects.filter(pk=link_id, organisation__in=request.organisations, status=Link.Status.REQUESTED).first()
    if link is None:
        raise Http404
    accept = request.POST.get("accepter") == "1"
    link_answer(actor=request.user, link=link, accept=accept, organisation=link.organisation)
    messages.success(request, "Demande acceptée : le lien est actif." if accept else "Demande refusée.")
    return redirect("safe:pro_safes")


@professional_required
def safe_view(request, link_id):
    link = _link(request, link_id)
    viewer = _viewer(request, link)
    key = safe_key(link.safe)
    context = {
        "link": link,
        "rows": document_rows(visible_documents(viewer).select_related("safe"), key),
        "contacts": [read(c, key) for c in visible(viewer, Contact)],
        "notes": [read(n, key) for n in visible(viewer, Note)],
        "appointments": [(a, read(a, key)) for a in visible(viewer, Appointment)],
        "since": channel_head(channels.safe_link(link.pk)),
    }
    return render(request, "safe/pro_safe.html", context)


@professional_required
def document_file(request, link_id, document_id):
    link = _link(request, link_id)
    document = get_object_or_404(Document, safe=link.safe, pk=document_id)
    return document_response(request, _viewer(request, link), document, inline=request.GET.get("apercu") == "1")


@professional_required
@require_POST
def break_link(request, link_id):
    link = _link(request, link_id)
    link_break(actor=request.user, link=link, organisation=link.organisation)
    messages.success(request, "Lien rompu.")
    return redirect("safe:pro_safes")


@large_body(limit=max_multipart_bytes)
@professional_required
@require_POST
@csrf_exempt  # checked by _deposit once the encrypting handler is set
def deposit(request, link_id):
    link = _link(request, link_id)
    back = reverse("safe:pro_safe", kwargs={"link_id": link.pk})
    handler, refusal = begin_multipart(request, _viewer(request, link), back)
    return refusal or _deposit(request, handler, link)


@csrf_protect
def _deposit(request, handler, link):
    return store_multipart(request, handler, _viewer(request, link), reverse("safe:pro_safe", kwargs={"link_id": link.pk}))


@large_body(limit=max_document_bytes)
@professional_required
@require_POST  # CSRF: the middleware checks the X-CSRFToken header (the body is the file)
def deposit_body(request, link_id):
    """The page's uploader: the file is the request's body, its details in a header."""
    link = _link(request, link_id)
    return store_body(request, _viewer(request, link), reverse("safe:pro_safe", kwargs={"link_id": link.pk}))


class AssistedForm(forms.Form):
    password = forms.CharField(label="Nouveau mot de passe, tapé par le bénéficiaire",
                               widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class SmsProofForm(AssistedForm):
    code = forms.CharField(label="Code reçu sur le mobile du bénéficiaire", max_length=6,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "numeric"}))
    field_order = ["code", "password"]


class RecoveryProofForm(AssistedForm):
    code = forms.CharField(label="Un code de secours du bénéficiaire", max_length=30,
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}))
    field_order = ["code", "password"]


METHODS = {"sms": SmsProofForm, "secours": RecoveryProofForm, "attente": AssistedForm}


@professional_required
def reset_password(request, link_id):
    """With the beneficiary present: a code on their verified mobile, one of
    their recovery codes, or else a password that waits (services/assisted.py)."""
    link = _link(request, link_id)
    method = request.POST.get("methode") if request.method == "POST" else None
    if method is not None and method not in METHODS:
        return render(request, "safe/pro_password.html", _reset_context(link), status=400)
    forms_ = {name: cls(request.POST if name == method else None, prefix=name) for name, cls in METHODS.items()}
    form = forms_.get(method)
    if form is not None and form.is_valid():
        password = form.cleaned_data["password"]
        try:
            if method == "attente":
                waiting = assisted_reset_wait(actor=request.user, organisation=link.organisation, safe=link.safe,
                                              password=password)
            else:
                code = form.cleaned_data["code"]
                assisted_reset(actor=request.user, organisation=link.organisation, safe=link.safe, password=password,
                               sms_code=code if method == "sms" else "",
                               recovery_code=code if method == "secours" else "")
        except ValidationError as exc:
            to_form(form, exc)
        else:
            if method == "attente":
                messages.success(request, "Mot de passe provisoire enregistré. Jusqu’au "
                                 f"{date_format(timezone.localtime(waiting.opens_all_at), 'j F Y à H:i')}, il n’ouvre que "
                                 f"ce que le coffre partage avec {link.organisation.name}. Le bénéficiaire est prévenu.")
            else:
                messages.success(request, "Nouveau mot de passe enregistré. Le bénéficiaire est prévenu et le voit "
                                          "dans son journal.")
            return redirect("safe:pro_safe", link_id=link.pk)
    status = 400 if form is not None else 200
    return render(request, "safe/pro_password.html", _reset_context(link, **forms_), status=status)


def _reset_context(link, **forms_) -> dict:
    return {
        "link": link,
        "has_verified_phone": link.safe.has_phone and link.safe.phone_verified_at is not None,
        # Another organisation's request stays its own: that it exists is all this one learns.
        "waiting": waiting_reset(link.safe),
        "organisation_id": link.organisation_id,
        "wait_hours": settings.SAFE_RESET_WAIT_HOURS,
        "sms_form": forms_.get("sms") or SmsProofForm(prefix="sms"),
        "recovery_form": forms_.get("secours") or RecoveryProofForm(prefix="secours"),
        "wait_form": forms_.get("attente") or AssistedForm(prefix="attente"),
    }


@professional_required
@require_POST
def reset_code(request, link_id):
    """A code to the beneficiary's verified mobile, for them to read out."""
    link = _link(request, link_id)
    try:
        refused = assisted_code_send(actor=request.user, organisation=link.organisation, safe=link.safe)
    except ValidationError as exc:
        to_messages(request, exc)
    else:
        if refused:
            messages.error(request, f"Le code n’a pas pu partir. {refused}")
        else:
            messages.success(request, "Code envoyé au mobile du bénéficiaire : il est valable 10 minutes.")
    return redirect("safe:pro_password", link_id=link.pk)
