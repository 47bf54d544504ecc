"""The beneficiary's account: mobile number and its verification, recovery
codes, security; a new password by SMS code or recovery code."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from beffroi.core import throttle
from beffroi.core.errors import to_form, to_json, to_messages
from beffroi.reports.push import read_push_subscription
from beffroi.safe.services.accounts import safe_push_subscribe
from beffroi.safe.services.assisted import waiting_reset
from beffroi.safe.services.phone import phone_code_send, phone_verify, safe_phone, safe_set_phone
from beffroi.safe.services.recovery import codes_left, recovery_codes_renew
from beffroi.safe.services.reset import reset_code_send, reset_with_code, reset_with_recovery_code
from beffroi.safe.views.owner import owner_required

SENT = "Si ce compte a un numéro de mobile vérifié, un code vient de lui être envoyé par SMS."
TOO_MANY = "Trop de demandes : réessayez dans une heure."


class PhoneForm(forms.Form):
    phone = forms.CharField(label="Numéro de mobile", max_length=20, required=False,
                            help_text="Pour les rappels et les codes. Laissez vide pour n’en avoir aucun.",
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))


class VerifyForm(forms.Form):
    code = forms.CharField(label="Code reçu par SMS", max_length=6,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))


class RenewForm(forms.Form):
    password = forms.CharField(label="Votre mot de passe", help_text="Pour être sûr que c’est bien vous.",
                               widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))


class ForgotForm(forms.Form):
    username = forms.CharField(label="Identifiant", max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}))


class CodeForm(ForgotForm):
    code = forms.CharField(label="Code reçu par SMS", max_length=6,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
    password = forms.CharField(label="Nouveau mot de passe", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


class RecoveryForm(ForgotForm):
    code = forms.CharField(label="Code de secours", max_length=30, help_text="Tel qu’il est imprimé, par exemple ABCD-EFGH-JKMN-PQRS.",
                           widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}))
    password = forms.CharField(label="Nouveau mot de passe", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


def _account_page(request, *, form=None, verify_form=None, renew_form=None, status=200):
    safe = request.safe
    context = {
        "form": form or PhoneForm(initial={"phone": safe_phone(safe)}),
        "verify_form": verify_form or VerifyForm(),
        "renew_form": renew_form or RenewForm(),
        "has_phone": safe.has_phone,
        "verified_at": safe.phone_verified_at,
        "codes_left": codes_left(safe),
        "waiting": waiting_reset(safe),
    }
    return render(request, "safe/account.html", context, status=status)


@owner_required
def account(request):
    if request.method != "POST":
        return _account_page(request)
    form = PhoneForm(request.POST)
    if form.is_valid():
        try:
            refused = safe_set_phone(safe=request.safe, actor=request.user, phone=form.cleaned_data["phone"])
        except ValidationError as exc:
            to_form(form, exc, field="phone")
        else:
            messages.success(request, "Numéro enregistré.")
            if refused:
                messages.error(request, f"Le code de vérification n’a pas pu partir. {refused}")
            return redirect("safe:account")
    return _account_page(request, form=form, status=400)


@owner_required
@require_POST
def phone_code(request):
    """Another verification code."""
    if not throttle.allow(request, scope="safe-verify-send", limit=5, window_seconds=3600):
        messages.error(request, TOO_MANY)
        return redirect("safe:account")
    try:
        refused = phone_code_send(safe=request.safe)
    except ValidationError as exc:
        to_messages(request, exc)
        return redirect("safe:account")
    if refused:
        messages.error(request, refused)
    else:
        messages.success(request, "Un nouveau code vient de partir vers votre mobile.")
    return redirect("safe:account")


@owner_required
@require_POST
def phone_check(request):
    form = VerifyForm(request.POST)
    if form.is_valid():
        try:
            phone_verify(safe=request.safe, actor=request.user, code=form.cleaned_data["code"])
        except ValidationError as exc:
            to_form(form, exc, field="code")
        else:
            messages.success(request, "Numéro vérifié : vous recevrez vos rappels et vos codes par SMS.")
            return redirect("safe:account")
    return _account_page(request, verify_form=form, status=400)


@owner_required
def recovery_codes(request):
    """New recovery codes, shown once, to print."""
    form = RenewForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            fresh = recovery_codes_renew(safe=request.safe, actor=request.user, password=form.cleaned_data["password"])
        except ValidationError as exc:
            to_form(form, exc)
        else:
            return render(request, "safe/recovery_codes.html", {"codes": fresh})
    if request.method == "POST":
        return _account_page(request, renew_form=form, status=400)
    return redirect("safe:account")


def forgot(request):
    """Ask for a code. The answer is the same whether the account exists or not."""
    form = ForgotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed = throttle.allow(request, scope="safe-reset", limit=5, window_seconds=3600) and throttle.allow(
            scope="safe-reset-user", limit=3, window_seconds=3600, identity=form.cleaned_data["username"].lower()
        )
        if not allowed:
            messages.error(request, TOO_MANY)
            return render(request, "safe/forgot.html", {"form": form}, status=429)
        reset_code_send(username=form.cleaned_data["username"])
        messages.info(request, SENT)
        return redirect("safe:reset_code")
    return render(request, "safe/forgot.html", {"form": form}, status=400 if form.is_bound else 200)


def reset_code(request):
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            reset_with_code(username=data["username"], code=data["code"], password=data["password"])
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, "Nouveau mot de passe enregistré : vous pouvez entrer dans votre coffre.")
            return redirect("account_login")
    return render(request, "safe/reset_code.html", {"form": form}, status=400 if form.is_bound else 200)


def recovery_reset(request):
    """A new password with a printed recovery code, alone."""
    form = RecoveryForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        # Per connection only: a limit per account would let anyone who knows the username lock its
        # owner out of their own recovery; 79-bit codes leave nothing to guess at ten tries an hour.
        if not throttle.allow(request, scope="safe-recovery", limit=10, window_seconds=3600):
            form.add_error(None, TOO_MANY)
            return render(request, "safe/recovery_reset.html", {"form": form}, status=429)
        try:
            reset_with_recovery_code(username=data["username"], code=data["code"], password=data["password"])
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, "Nouveau mot de passe enregistré : vous pouvez entrer dans votre coffre. "
                                      "Ce code de secours ne servira plus.")
            return redirect("account_login")
    return render(request, "safe/recovery_reset.html", {"form": form}, status=400 if form.is_bound else 200)


@owner_required
@require_POST
def push_subscription(request):
    """This device asks for the reminders by Web Push (JSON: PushSubscription.toJSON())."""
    subscription, error = read_push_subscription(request.body)
    if error:
        return JsonResponse({"detail": error}, status=400)
    try:
        safe_push_subscribe(safe=request.safe, **subscription)
    except ValidationError as exc:
        return to_json(exc)
    return JsonResponse({"status": "ok"}, status=201)
