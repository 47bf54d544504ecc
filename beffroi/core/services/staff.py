"""Staff accounts and their memberships, managed by administrators."""

from allauth.account.forms import default_token_generator
from allauth.account.models import EmailAddress
from allauth.account.utils import user_pk_to_url_str
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.db import transaction
from django.urls import reverse

from beffroi.core import journal
from beffroi.core.models import Membership, User


def _ensure_an_administrator_remains(membership: Membership, *, role: str, is_active: bool) -> None:
    if membership.role != Membership.Role.ADMINISTRATOR or (role == membership.role and is_active):
        return
    others = (
        Membership.objects.active()
        .filter(organisation=membership.organisation, role=Membership.Role.ADMINISTRATOR)
        .exclude(pk=membership.pk)
    )
    if not others.exists():
        raise ValidationError("Il doit rester au moins un administrateur actif.")


@transaction.atomic
def staff_invite(*, actor, organisation, email: str, first_name: str, last_name: str, role: str, service=None, base_url: str):
    """Create (or attach) an account and send a link to choose a password."""
    email = email.strip().lower()
    user = User.objects.filter(email__iexact=email).first()
    if user is None:
        user = User(username=email, email=email, first_name=first_name, last_name=last_name)
        user.set_unusable_password()
        user.save()
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
    if Membership.objects.filter(user=user, organisation=organisation).exists():
        raise ValidationError("Cette personne fait déjà partie de l’équipe.")
    membership = Membership.objects.create(user=user, organisation=organisation, role=role, service=service)
    journal.record(
        actor=actor,
        organisation=organisation,
        action="membership.create",
        target=membership,
        data={"role": role, "email": email},
    )
    link = base_url + reverse(
        "account_reset_password_from_key",
        kwargs={"uidb36": user_pk_to_url_str(user), "key": default_token_generator.make_token(user)},
    )
    transaction.on_commit(
        lambda: send_mail(
            subject=f"Votre accès à l’espace de gestion — {organisation.name}",
            message=(
                f"Bonjour,\n\nUn compte a été ouvert pour vous dans l’espace de gestion de {organisation.name}.\n"
                f"Choisissez votre mot de passe en suivant ce lien (valable 3 jours) :\n{link}\n\n"
                "Vous devrez ensuite activer une double authentification (application TOTP ou clé d’accès).\n"
            ),
            from_email=None,
            recipient_list=[email],
        )
    )
    return membership


@transaction.atomic
def membership_update(*, actor, membership: Membership, role: str, service, is_active: bool) -> Membership:
    current = Membership.objects.select_for_update().get(pk=membership.pk)
    _ensure_an_administrator_remains(current, role=role, is_active=is_active)
    changes = {
        name: [str(getattr(current, name)), str(value)]
        for name, value in (("role", role), ("service", service), ("is_active", is_active))
        if getattr(current, name) != value
    }
    current.role, current.service, current.is_active = role, service, is_active
    current.save()
    journal.record(
        actor=actor, organisation=current.organisation, action="membership.update", target=current, data=changes
    )
    return current
