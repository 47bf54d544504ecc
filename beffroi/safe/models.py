"""The digital safe (coffre-fort numérique) of a beneficiary.

Everything a beneficiary writes is encrypted with their safe's own key
(``Safe.wrapped_key``, itself wrapped by a key-encryption key kept outside
the database): document contents (with one key per document), and the
texts of folders, documents' names, contacts, notes and appointments, held
here in ``*_sealed`` binary fields. What stays in clear is what the
application must read without the beneficiary: sizes, dates that trigger
reminders, hashes that prove integrity, and who may see what.
"""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q

MB = 1024 * 1024
DEFAULT_QUOTA = 600 * MB


class Safe(models.Model):
    """One beneficiary's safe."""

    owner = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="safe")
    # The safe key (32 bytes), wrapped by the key-encryption key ``kek_id``.
    kek_id = models.CharField(max_length=40)
    wrapped_key = models.BinaryField()
    # The mobile number for reminders and codes, sealed with the safe key.
    phone_sealed = models.BinaryField(null=True, blank=True)
    has_phone = models.BooleanField(default=False)
    # When its owner typed the code sent to it; None: unverified, it then
    # receives nothing but verification codes (services/phone.py).
    phone_verified_at = models.DateTimeField("mobile vérifié le", null=True, blank=True)
    # The owner has seen the security notices (events.NOTICES) up to this seq of the journal.
    notices_seen_seq = models.PositiveIntegerField(default=0)
    quota_bytes = models.BigIntegerField("quota", default=DEFAULT_QUOTA)
    used_bytes = models.BigIntegerField("espace utilisé", default=0)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="Le professionnel qui a ouvert le coffre avec le bénéficiaire, le cas échéant.",
    )
    opened_with = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "coffre-fort"

    def __str__(self):
        return f"Coffre de {self.owner.display_name}"

    def context(self) -> bytes:
        """What the safe key is bound to when wrapped."""
        return f"safe:{self.pk}:owner:{self.owner_id}".encode()


class Folder(models.Model):
    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="folders")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.CASCADE, related_name="children")
    name_sealed = models.BinaryField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "dossier"

    def __str__(self):
        return f"Dossier n° {self.pk}"


class Document(models.Model):
    """A file in the safe: its ciphertext is in the private storage under ``storage_name``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="documents")
    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.SET_NULL, related_name="documents")
    name_sealed = models.BinaryField()
    content_type = models.CharField(max_length=100)
    size = models.BigIntegerField()  # of the original
    stored_size = models.BigIntegerField()  # of the ciphertext
    sha256 = models.CharField(max_length=64)  # of the original, kept at upload
    storage_name = models.CharField(max_length=200, unique=True)
    # The document key, wrapped by the safe key and bound to this document.
    wrapped_key = models.BinaryField()
    thumbnail_sealed = models.BinaryField(null=True, blank=True)  # a small JPEG, sealed
    expires_on = models.DateField("date d’expiration", null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    uploaded_for = models.ForeignKey(
        "core.Organisation", null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
        help_text="L’organisation du professionnel qui l’a déposé, le cas échéant.",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    check_failed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "document"
        ordering = ["-created_at"]

    def __str__(self):
        return f"Document {self.pk}"

    def context(self) -> bytes:
        """What the document's key and ciphertext are bound to."""
        return f"document:{self.id}:safe:{self.safe_id}".encode()


class Contact(models.Model):
    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="contacts")
    data_sealed = models.BinaryField()  # JSON: name, organisation, phone, email, address, note
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "contact"

    def __str__(self):
        return f"Contact n° {self.pk}"


class Note(models.Model):
    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="notes")
    data_sealed = models.BinaryField()  # JSON: title, body
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "note"

    def __str__(self):
        return f"Note n° {self.pk}"


class Appointment(models.Model):
    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="appointments")
    starts_at = models.DateTimeField("date et heure")
    data_sealed = models.BinaryField()  # JSON: title, place, note
    # Reminders, in minutes before the start.
    reminder_offsets = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = "rendez-vous"
        ordering = ["starts_at"]

    def __str__(self):
        return f"Rendez-vous du {self.starts_at:%d/%m/%Y}"


class Reminder(models.Model):
    """One reminder to send (an appointment's, or a document's expiry)."""

    class Status(models.TextChoices):
        PENDING = "pending", "À envoyer"
        QUEUED = "queued", "Confié à l’envoi"
        CANCELLED = "cancelled", "Annulé"

    class Channel(models.TextChoices):
        SMS = "sms", "SMS"
        PUSH = "push", "Notification"

    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="reminders")
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE, related_name="reminders")
    channel = models.CharField(max_length=10, choices=Channel.choices, default=Channel.SMS)
    due_at = models.DateTimeField(db_index=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    handed_over_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "rappel"
        indexes = [models.Index(fields=["status", "due_at"], name="safe_reminder_due")]
        constraints = [
            models.CheckConstraint(
                condition=Q(appointment__isnull=False, document__isnull=True)
                | Q(appointment__isnull=True, document__isnull=False),
                name="safe_reminder_one_subject",
            )
        ]

    def __str__(self):
        return f"Rappel n° {self.pk}"


class Link(models.Model):
    """The bond between a safe and a support organisation (CCAS, association...)."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", "Proposé par l’organisation"
        REQUESTED = "requested", "Demandé par le bénéficiaire"
        ACTIVE = "active", "Actif"
        BROKEN = "broken", "Rompu"
        DECLINED = "declined", "Refusé"

    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="links")
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="safe_links")
    status = models.CharField(max_length=10, choices=Status.choices)
    may_deposit = models.BooleanField(
        "peut déposer des documents", default=False,
        help_text="Les professionnels de l’organisation peuvent ajouter des documents au coffre.",
    )
    proposed_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    # A one-time code sent by SMS to confirm a proposal (its hash only).
    code_hash = models.CharField(max_length=64, blank=True)
    code_expires_at = models.DateTimeField(null=True, blank=True)
    code_attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        verbose_name = "lien d’accompagnement"
        constraints = [
            models.UniqueConstraint(
                fields=["safe", "organisation"], condition=Q(status__in=["proposed", "requested", "active"]),
                name="one_live_link_per_organisation",
            )
        ]

    def __str__(self):
        return f"Lien avec {self.organisation}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class Share(models.Model):
    """One item, or one folder and what it holds, shared with one link."""

    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="shares")
    folder = models.ForeignKey(Folder, null=True, blank=True, on_delete=models.CASCADE, related_name="shares")
    document = models.ForeignKey(Document, null=True, blank=True, on_delete=models.CASCADE, related_name="shares")
    contact = models.ForeignKey(Contact, null=True, blank=True, on_delete=models.CASCADE, related_name="shares")
    note = models.ForeignKey(Note, null=True, blank=True, on_delete=models.CASCADE, related_name="shares")
    appointment = models.ForeignKey(Appointment, null=True, blank=True, on_delete=models.CASCADE, related_name="shares")
    created_at = models.DateTimeField(auto_now_add=True)

    ITEMS = ("folder", "document", "contact", "note", "appointment")

    class Meta:
        verbose_name = "partage"
        constraints = [
            models.CheckConstraint(
                condition=(
                    Q(folder__isnull=False, document=None, contact=None, note=None, appointment=None)
                    | Q(folder=None, document__isnull=False, contact=None, note=None, appointment=None)
                    | Q(folder=None, document=None, contact__isnull=False, note=None, appointment=None)
                    | Q(folder=None, document=None, contact=None, note__isnull=False, appointment=None)
                    | Q(folder=None, document=None, contact=None, note=None, appointment__isnull=False)
                ),
                name="safe_share_one_item",
            ),
            *(
                models.UniqueConstraint(fields=["link", item], condition=Q(**{f"{item}__isnull": False}),
                                        name=f"safe_share_unique_{item}")
                for item in ("folder", "document", "contact", "note", "appointment")
            ),
        ]

    def __str__(self):
        return f"Partage n° {self.pk}"

    @property
    def item(self):
        return next(getattr(self, name) for name in self.ITEMS if getattr(self, f"{name}_id") is not None)


class SafeEvent(models.Model):
    """The safe's own journal, shown to its owner: every access and change,
    by whom (themselves, or which professional of which organisation).

    Append-only; each entry carries the hash of the previous one of the same
    safe, so that a removed or altered entry shows.
    """

    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="events")
    seq = models.PositiveIntegerField()
    at = models.DateTimeField()
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    actor_label = models.CharField(max_length=200)
    organisation = models.ForeignKey("core.Organisation", null=True, on_delete=models.SET_NULL, related_name="+")
    action = models.CharField(max_length=40)
    item_type = models.CharField(max_length=20, blank=True)
    item_id = models.CharField(max_length=40, blank=True)
    # The item's name at the time, sealed with the safe key: the journal stays
    # readable after a rename or a deletion, and says nothing to the database.
    label_sealed = models.BinaryField(null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    class Meta:
        verbose_name = "événement du coffre"
        ordering = ["-seq"]
        constraints = [models.UniqueConstraint(fields=["safe", "seq"], name="unique_safe_event_seq")]

    def __str__(self):
        return f"{self.action} ({self.seq})"


class ResetCode(models.Model):
    """A one-time code sent by SMS (its keyed hash only): to set a new password,
    to verify the mobile number, or for a professional's in-person reset."""

    class Purpose(models.TextChoices):
        RESET = "reset", "Nouveau mot de passe"
        VERIFY = "verify", "Vérification du mobile"
        ASSISTED = "assisted", "Nouveau mot de passe avec un professionnel"

    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="reset_codes")
    purpose = models.CharField(max_length=10, choices=Purpose.choices, default=Purpose.RESET)
    # An in-person reset's code is good only for the organisation that asked for it.
    organisation = models.ForeignKey("core.Organisation", null=True, blank=True, on_delete=models.CASCADE,
                                     related_name="+")
    code_hash = models.CharField(max_length=64)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "code de réinitialisation"

    def __str__(self):
        return f"Code n° {self.pk}"


class SafePushSubscription(models.Model):
    """A beneficiary's device that receives their reminders by Web Push."""

    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "abonnement aux notifications du coffre"

    def __str__(self):
        return self.endpoint[:60]


class RecoveryCode(models.Model):
    """A recovery code of the safe, printed by its owner (its keyed hash only; one use)."""

    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="recovery_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "code de secours"

    def __str__(self):
        return f"Code de secours n° {self.pk}"


class WaitingReset(models.Model):
    """A password set by a professional without proof from the beneficiary.

    Until ``opens_all_at`` it opens only what the safe shares with
    ``organisation`` (the former password still opens everything, and
    cancels it); then it replaces the former password. See
    services/assisted.py and docs/privacy.md.
    """

    class Status(models.TextChoices):
        WAITING = "waiting", "En attente"
        CANCELLED = "cancelled", "Annulé"
        COMPLETED = "completed", "Appliqué"
        SUPERSEDED = "superseded", "Remplacé"

    safe = models.ForeignKey(Safe, on_delete=models.CASCADE, related_name="waiting_resets")
    link = models.ForeignKey(Link, on_delete=models.CASCADE, related_name="+")
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="+")
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    password = models.CharField(max_length=128)  # hashed, like User.password
    # A keyed digest of the owner's password hash when it was asked: a password
    # changed since then (by its owner) makes this one void.
    base_digest = models.CharField(max_length=64)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.WAITING)
    created_at = models.DateTimeField(auto_now_add=True)
    opens_all_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                 related_name="+")

    class Meta:
        verbose_name = "mot de passe en attente"
        constraints = [
            models.UniqueConstraint(fields=["safe"], condition=Q(status="waiting"), name="one_waiting_reset_per_safe"),
        ]

    def __str__(self):
        return f"Mot de passe en attente n° {self.pk}"
