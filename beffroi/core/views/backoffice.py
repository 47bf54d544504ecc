"""Back office of the core: the commune's identity, its staff and the journal."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render

from beffroi.core.errors import to_form
from beffroi.core.forms import CommuneForm, MembershipForm, StaffInviteForm
from beffroi.core.models import JournalEntry, Membership
from beffroi.core.permissions import requires
from beffroi.core.services.settings_objects import commune_update
from beffroi.core.services.staff import membership_update, staff_invite


@requires("manage_site")
def commune_settings(request):
    form = CommuneForm(request.POST or None, request.FILES or None, instance=request.commune)
    if request.method == "POST" and form.is_valid():
        fields = {name: form.cleaned_data[name] for name in CommuneForm.Meta.fields}
        try:
            commune_update(
                actor=request.user, commune=request.commune, fields=fields, coat_of_arms=form.cleaned_data["coat_of_arms"]
            )
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, "Les informations de la commune ont été enregistrées.")
            return redirect("backoffice:commune")
    status = 400 if form.errors else 200
    return render(request, "backoffice/commune.html", {"form": form}, status=status)


@requires("manage_staff")
def staff_list(request):
    memberships = (
        Membership.objects.filter(organisation=request.commune).select_related("user", "service").order_by("user__last_name")
    )
    return render(request, "backoffice/staff_list.html", {"memberships": memberships})


@requires("manage_staff")
def staff_invite_view(request):
    form = StaffInviteForm(request.POST or None, commune=request.commune)
    if request.method == "POST" and form.is_valid():
        try:
            staff_invite(
                actor=request.user,
                organisation=request.commune,
                base_url=f"{request.scheme}://{request.get_host()}",
                **form.cleaned_data,
            )
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, "Invitation envoyée : la personne recevra un lien pour choisir son mot de passe.")
            return redirect("backoffice:staff_list")
    status = 400 if form.errors else 200
    return render(request, "backoffice/form_page.html", {"form": form, "title": "Inviter une personne"}, status=status)


@requires("manage_staff")
def membership_edit(request, pk):
    membership = get_object_or_404(Membership.objects.select_related("user"), organisation=request.commune, pk=pk)
    initial = {"role": membership.role, "service": membership.service, "is_active": membership.is_active}
    form = MembershipForm(request.POST or None, initial=initial, commune=request.commune)
    if request.method == "POST" and form.is_valid():
        try:
            membership_update(actor=request.user, membership=membership, **form.cleaned_data)
        except ValidationError as exc:
            to_form(form, exc)
        else:
            messages.success(request, "Rattachement mis à jour.")
            return redirect("backoffice:staff_list")
    status = 400 if form.errors else 200
    title = f"Rattachement de {membership.user.display_name}"
    return render(request, "backoffice/form_page.html", {"form": form, "title": title}, status=status)


@requires("view_journal")
def journal_view(request):
    entries = JournalEntry.objects.filter(organisation_id=request.commune.pk).order_by("-seq")
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "backoffice/journal.html", {"page": page})
