"""The e-mail that tells an account's owner about failed sign-ins on it."""

from datetime import datetime

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import override
from django_tasks import task


def notice_text(*, since: datetime, failures: int) -> str:
    # The hour only: enough for the owner to recognise their own mistakes.
    with override("fr"):
        day = date_format(timezone.localtime(since), "l j F Y")
    hour = timezone.localtime(since).hour
    return (
        "Bonjour,\n\n"
        f"Depuis le {day} vers {hour} h, {failures} tentatives de connexion à votre compte ont échoué : "
        "le mot de passe saisi était faux.\n\n"
        "Si c’était vous, il n’y a rien à faire.\n\n"
        "Sinon, quelqu’un essaie sans doute de deviner votre mot de passe. Votre compte reste protégé : "
        "les essais sont ralentis puis suspendus depuis les appareils où vous ne vous êtes jamais connecté, "
        "et vous pouvez toujours vous connecter depuis un appareil où vous l’avez déjà fait. "
        "Si votre mot de passe est court, ou s’il vous sert ailleurs, changez-le.\n\n"
        "Vous ne recevrez pas d’autre message de ce genre dans les prochaines 24 heures.\n"
    )


@task()
def send_signin_notice(user_id: int, since: str, failures: int) -> int:
    """Sent by the worker: the sign-in request never waits for the mail server."""
    user = get_user_model().objects.filter(pk=user_id).first()
    if user is None or not user.email:
        return 0
    return send_mail(
        subject="Tentatives de connexion à votre compte",
        message=notice_text(since=datetime.fromisoformat(since), failures=failures),
        from_email=None,
        recipient_list=[user.email],
    )
