"""The SMS outbox: one row per message, written in the transaction that decides
to send it, sent by the worker once that transaction has committed."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q

from beffroi.notify.sms.phone import validate_e164_mobile

MAX_TEXT = 480  # three GSM segments, eight in UCS-2
MAX_TAG = 20  # OVH's limit on a job's tag
TAG_PATTERN = r"^[A-Za-z0-9_-]{1,20}$"
PURPOSE_PATTERN = r"^[a-z][a-z0-9_-]{0,19}$"


class SmsMessage(models.Model):
    class Status(models.TextChoices):
        QUEUED = "queued", "En attente"
        SENDING = "sending", "En cours d’envoi"
        SENT = "sent", "Envoyé"
        FAILED = "failed", "Échec"

    PENDING = (Status.QUEUED, Status.SENDING)

    organisation = models.ForeignKey(
        "core.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="sms_messages",
        verbose_name="organisation",
        help_text="Vide pour les messages de la plateforme.",
    )
    to = models.CharField("destinataire", max_length=12, validators=[validate_e164_mobile])
    text = models.CharField("texte", max_length=MAX_TEXT)
    # The idempotency key: enqueuing twice with one tag gives one message, and
    # the provider is asked about this tag before any second attempt.
    tag = models.CharField(
        "étiquette", max_length=MAX_TAG, unique=True, validators=[RegexValidator(TAG_PATTERN, "Étiquette invalide.")]
    )
    purpose = models.CharField("motif", max_length=20, validators=[RegexValidator(PURPOSE_PATTERN, "Motif invalide.")])
    status = models.CharField("état", max_length=10, choices=Status.choices, default=Status.QUEUED)
    # Claims by a worker so far (each is one attempt to hand it to the provider).
    attempts = models.PositiveSmallIntegerField("tentatives", default=0)
    # Queued: when it is due. Sending: when the lease of the worker that claimed
    # it ends; past that, the worker is presumed dead and another one checks
    # with the provider before sending again. The value also identifies the
    # claim: a worker only records the outcome of a claim that is still current.
    next_attempt_at = models.DateTimeField("prochaine tentative", null=True, blank=True)
    provider_id = models.CharField("identifiant chez l’opérateur", max_length=64, blank=True)
    last_error = models.CharField("dernière erreur", max_length=200, blank=True)
    created_at = models.DateTimeField("créé le", auto_now_add=True)
    sent_at = models.DateTimeField("envoyé le", null=True, blank=True)

    class Meta:
        verbose_name = "SMS"
        verbose_name_plural = "SMS"
        indexes = [
            # The dispatcher's query; stays as small as the backlog.
            models.Index(fields=["next_attempt_at"], condition=Q(status__in=["queued", "sending"]), name="sms_due"),
            models.Index(fields=["organisation", "created_at"], name="sms_organisation_created"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed"]), name="sms_status_known"
            ),
            # A pending message always has a date at which it is looked at again.
            models.CheckConstraint(
                condition=Q(status__in=["sent", "failed"]) | Q(next_attempt_at__isnull=False), name="sms_pending_dated"
            ),
        ]

    def __str__(self):
        return f"SMS {self.tag} ({self.get_status_display()})"


class SmsDailyCount(models.Model):
    """How many SMS one key took on one day: a number (by its keyed hash, never
    in clear), an account (a safe), an organisation's budget, the platform's.

    Taken with a conditional UPDATE (``count < cap``) so that two senders at
    once cannot both take the last one (caps.py). Rows older than two days
    are deleted by the daily upkeep.
    """

    key = models.CharField("clé", max_length=80)
    day = models.DateField("jour")
    count = models.PositiveIntegerField("envoyés", default=0)
    refused = models.PositiveIntegerField("refusés", default=0)
    # The e-mail saying that a budget is spent went (at most one a day).
    alerted = models.BooleanField("alerte envoyée", default=False)

    class Meta:
        verbose_name = "compteur de SMS du jour"
        constraints = [models.UniqueConstraint(fields=["key", "day"], name="sms_daily_count_unique")]

    def __str__(self):
        return f"{self.key} le {self.day:%d/%m/%Y} : {self.count}"
