"""The beneficiary's account: mobile number, security, and a new password by SMS code."""

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from beffroi.core import throttle
from beffroi.reports.push import read_push_subscription
from beffroi.safe.services.accounts import safe_phone, safe_push_subscribe, safe_set_phone
from beffroi.safe.services.reset import reset_code_send, reset_with_code
from beffroi.safe.views.owner import owner_required

SENT = "Si ce compte a un numéro de mobile, un code vient de lui être envoyé par SMS."


class PhoneForm(forms.Form):
    phone = forms.CharField(label="Numéro de mobile", max_length=20, required=False,
                            help_text="Pour les rappels et les codes. Laissez vide pour n’en avoir aucun.",
                            widget=forms.TextInput(attrs={"autocomplete": "tel", "inputmode": "tel"}))


class ForgotForm(forms.Form):
    username = forms.CharField(label="Identifiant", max_length=150,
                               widget=forms.TextInput(attrs={"autocomplete": "username", "autocapitalize": "none"}))


class CodeForm(ForgotForm):
    code = forms.CharField(label="Code reçu par SMS", max_length=6,
                           widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric"}))
    password = forms.CharField(label="Nouveau mot de passe", widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}))


@owner_required
def account(request):
    form = PhoneForm(request.POST or None, initial={"phone": safe_phone(request.safe)})
    if request.method == "POST" and form.is_valid():
        try:
            safe_set_phone(safe=request.safe, actor=request.user, phone=form.cleaned_data["phone"])
        except ValidationError as exc:
            form.add_error("phone", exc.messages)
        else:
            messages.success(request, "Numéro enregistré.")
            return redirect("safe:account")
    return render(request, "safe/account.html", {"form": form}, status=400 if form.is_bound and form.errors else 200)


def forgot(request):
    """Ask for a code. The answer is the same whether the account exists or not."""
    form = ForgotForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        allowed = throttle.allow(request, scope="safe-reset", limit=5, window_seconds=3600) and throttle.allow(
            scope="safe-reset-user", limit=3, window_seconds=3600, identity=form.cleaned_data["username"].lower()
        )
        if not allowed:
            messages.error(request, "Trop de demandes : réessayez dans une heure.")
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
            form.add_error(None, exc)
        else:
            messages.success(request, "Nouveau mot de passe enregistré : vous pouvez entrer dans votre coffre.")
            return redirect("account_login")
    return render(request, "safe/reset_code.html", {"form": form}, status=400 if form.is_bound else 200)


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
        return JsonResponse({"detail": " ".join(exc.messages)}, status=400)
    return JsonResponse({"status": "ok"}, status=201)
