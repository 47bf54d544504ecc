"""Signalements: anonymous reports, their routing, their timeline."""

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.urls import reverse

MAX_DESCRIPTION = 2000
MAX_PHOTOS = 3
MAX_MESSAGE = 2000  # a message of the timeline, from the author or an agent


class CategoryQuerySet(models.QuerySet):
    def for_commune(self, commune):
        """The commune's categories, and those of its agglomeration where it is competent."""
        owners = Q(organisation=commune)
        if commune.parent_id is not None:
            owners |= Q(organisation_id=commune.parent_id) & (
                Q(competent_for__isnull=True) | Q(competent_for=commune)
            )
        return self.filter(owners, is_active=True).distinct()

    def leaves(self):
        """Categories a report can be filed under (those without sub-categories)."""
        return self.filter(children__isnull=True)


class Category(models.Model):
    """A kind of report, on two levels (a group, then the category)."""

    organisation = models.ForeignKey(
        "core.Organisation",
        on_delete=models.CASCADE,
        related_name="report_categories",
        help_text="La commune, ou l’agglomération quand elle est compétente.",
    )
    parent = models.ForeignKey(
        "self", verbose_name="groupe", null=True, blank=True, on_delete=models.CASCADE, related_name="children"
    )
    name = models.CharField("nom", max_length=100)
    slug = models.SlugField("identifiant", max_length=80)
    description = models.CharField("description", max_length=300, blank=True)
    position = models.PositiveSmallIntegerField("ordre", default=0)
    deadline_days = models.PositiveSmallIntegerField(
        "délai de traitement (jours ouvrés)", default=5, validators=[MinValueValidator(1), MaxValueValidator(365)]
    )
    competent_for = models.ManyToManyField(
        "core.Organisation",
        verbose_name="communes concernées",
        blank=True,
        related_name="+",
        help_text="Pour une catégorie de l’agglomération : les communes où elle est compétente (aucune : toutes).",
    )
    is_active = models.BooleanField("active", default=True)

    objects = CategoryQuerySet.as_manager()

    class Meta:
        verbose_name = "catégorie de signalement"
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="unique_report_category_slug")]

    def __str__(self):
        return f"{self.parent.name} › {self.name}" if self.parent_id else self.name


class CategoryQuestion(models.Model):
    """A question asked with the reports of a category (an Open311 attribute),
    such as « Le lampadaire est-il éteint ou clignote-t-il ? »."""

    class Kind(models.TextChoices):
        # Values are Open311's datatypes.
        STRING = "string", "Texte court"
        TEXT = "text", "Texte long"
        NUMBER = "number", "Nombre"
        DATETIME = "datetime", "Date et heure"
        CHOICE = "singlevaluelist", "Un choix dans une liste"
        CHOICES = "multivaluelist", "Plusieurs choix dans une liste"

    category = models.ForeignKey(Category, verbose_name="catégorie", on_delete=models.CASCADE, related_name="questions")
    code = models.SlugField("identifiant", max_length=40, help_text="Court et stable : il sert aux applications (Open311).")
    label = models.CharField("question", max_length=200)
    help_text = models.CharField("aide", max_length=300, blank=True)
    kind = models.CharField("type de réponse", max_length=20, choices=Kind.choices, default=Kind.STRING)
    # [[key, label], ...] for the two list kinds.
    options = models.JSONField("choix proposés", default=list, blank=True)
    required = models.BooleanField("réponse obligatoire", default=False)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "question"
        ordering = ["position", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "code"], name="unique_category_question_code")]

    def __str__(self):
        return self.label

    @property
    def has_options(self) -> bool:
        return self.kind in (self.Kind.CHOICE, self.Kind.CHOICES)


class ReportQuerySet(models.QuerySet):
    OPEN = ("new", "acknowledged", "in_progress", "reopened")
    # Rejected reports and merged duplicates are not shown to the public.
    PUBLIC = (*OPEN, "resolved")

    def open(self):
        return self.filter(status__in=self.OPEN)

    def public(self):
        return self.filter(status__in=self.PUBLIC)

    def received_by(self, organisation):
        return self.filter(organisation=organisation)


class Report(models.Model):
    class Status(models.TextChoices):
        NEW = "new", "Nouveau"
        ACKNOWLEDGED = "acknowledged", "Pris en compte"
        IN_PROGRESS = "in_progress", "En cours de traitement"
        RESOLVED = "resolved", "Résolu"
        REJECTED = "rejected", "Rejeté"
        DUPLICATE = "duplicate", "Doublon"
        REOPENED = "reopened", "Rouvert"

    commune = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="reports_located")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="reports")
    description = models.TextField("description", max_length=MAX_DESCRIPTION)
    latitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(max_digits=9, decimal_places=6, null=True, blank=True)
    address = models.CharField("adresse ou repère", max_length=300, blank=True)
    sector = models.ForeignKey("core.Sector", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField("état", max_length=15, choices=Status.choices, default=Status.NEW)
    code = models.CharField("code de suivi", max_length=12, unique=True)

    # Where it was routed, and why.
    organisation = models.ForeignKey(
        "core.Organisation", on_delete=models.PROTECT, related_name="reports_received", verbose_name="organisation"
    )
    service = models.ForeignKey(
        "core.Service", null=True, blank=True, on_delete=models.SET_NULL, related_name="reports", verbose_name="service"
    )
    assignee = models.ForeignKey(
        "core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name="agent"
    )
    routing_reason = models.TextField("motif de l’orientation", blank=True)

    duplicate_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="duplicates", verbose_name="doublon de"
    )
    # What the public page shows, written by an agent (the author's text never is).
    public_text = models.CharField("texte public", max_length=300, blank=True)
    # The author's answers to the category's questions, as asked then:
    # [{"code", "question", "value", "text"}] (questions may change later).
    answers = models.JSONField("réponses aux questions", default=list, blank=True)
    followers = models.PositiveIntegerField(default=1)

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)  # resolved, rejected or merged
    due_at = models.DateTimeField("échéance", null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)
    purged_at = models.DateTimeField(null=True, blank=True)

    objects = ReportQuerySet.as_manager()

    class Meta:
        verbose_name = "signalement"
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["organisation", "status", "-created_at"]),
            models.Index(fields=["commune", "category", "status"]),
        ]

    def __str__(self):
        return f"{self.code} — {self.category.name}"

    def get_absolute_url(self) -> str:
        return reverse("reports:console_detail", kwargs={"code": self.code})

    @property
    def is_open(self) -> bool:
        return self.status in ReportQuerySet.OPEN


class FollowRole(models.TextChoices):
    """Who holds a follow link, and so what it opens."""

    # The author's view: their description, address, answers and photos, the
    # messages between them and the agents; and they may write to the agents.
    AUTHOR = "author", "Auteur"
    # The public view: the state and its steps, the text an agent wrote for
    # the public and the photos an agent approved. Nothing the author sent.
    FOLLOWER = "follower", "Personne qui suit"


class FollowToken(models.Model):
    """A secret follow-up link: the author's, or that of someone who followed
    the report instead of filing it again. Only the SHA-256 of the token is kept."""

    Role = FollowRole

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="follow_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    role = models.CharField(max_length=10, choices=FollowRole.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return f"suivi de {self.report_id} ({self.get_role_display().lower()})"

    @property
    def is_author(self) -> bool:
        return self.role == FollowRole.AUTHOR


class ReportEntry(models.Model):
    """One step of a report's timeline."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", "Signalement déposé"
        STATUS = "status", "Changement d’état"
        REPLY = "reply", "Réponse de la mairie"
        NOTE = "note", "Note interne"
        QUESTION = "question", "Question à l’auteur"
        AUTHOR = "author", "Message de l’auteur"
        FOLLOWER = "follower", "Nouveau suivi"
        ASSIGNMENT = "assignment", "Attribution"
        TRANSFER = "transfer", "Transfert"
        MERGE = "merge", "Fusion de doublons"
        ESCALATION = "escalation", "Relance"
        PHOTO = "photo", "Photo"
        PURGE = "purge", "Effacement"

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="entries")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    public = models.BooleanField(default=False, help_text="Visible de l’auteur.")
    text = models.TextField(blank=True)
    from_status = models.CharField(max_length=15, blank=True)
    to_status = models.CharField(max_length=15, blank=True)
    agent = models.ForeignKey("core.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    by_author = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"{self.report.code} {self.kind}"


class ReportPhoto(models.Model):
    """A photo, stored privately: shown to agents, to the report's followers,
    and publicly only once an agent approves it."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="photos")
    entry = models.ForeignKey(ReportEntry, null=True, blank=True, on_delete=models.SET_NULL, related_name="photos")
    image = models.CharField(max_length=200)  # name in the private storage (JPEG)
    renditions = models.JSONField(default=dict)  # width → name (WebP)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    by_agent = models.BooleanField(default=False)
    is_public = models.BooleanField("visible publiquement", default=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self):
        return f"photo {self.pk} du signalement {self.report_id}"


class ReportSubscription(models.Model):
    """Web Push for one report, asked from its follow-up page (anonymous).
    A follower's device is told of public steps only; the author's also of
    the agents' messages to the author."""

    report = models.ForeignKey(Report, on_delete=models.CASCADE, related_name="push_subscriptions")
    endpoint = models.URLField(max_length=1000)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    role = models.CharField(max_length=10, choices=FollowRole.choices)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["report", "endpoint"], name="one_report_subscription")]

    def __str__(self):
        return self.endpoint[:60]


class AgentPushSubscription(models.Model):
    """Web Push to an agent's device for new reports of their services."""

    user = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="report_push_subscriptions")
    organisation = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="+")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)

    def __str__(self):
        return self.endpoint[:60]


class RoutingRule(models.Model):
    """Category × sector × time → organisation, service, and maybe an agent.

    Rules belong to the organisation competent for the category; the first
    that matches, by position, wins.
    """

    class When(models.TextChoices):
        ALWAYS = "always", "À toute heure"
        OFFICE = "office", "Pendant les heures d’ouverture"
        ON_CALL = "on_call", "En dehors des heures d’ouverture (astreinte)"

    organisation = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="routing_rules")
    name = models.CharField("nom", max_length=120)
    position = models.PositiveIntegerField("ordre", default=0)
    category = models.ForeignKey(
        Category, verbose_name="catégorie ou groupe", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    sector = models.ForeignKey(
        "core.Sector", verbose_name="quartier", null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    when = models.CharField("quand", max_length=10, choices=When.choices, default=When.ALWAYS)
    target_organisation = models.ForeignKey(
        "core.Organisation", verbose_name="organisation destinataire", on_delete=models.CASCADE, related_name="+"
    )
    target_service = models.ForeignKey(
        "core.Service", verbose_name="service destinataire", on_delete=models.CASCADE, related_name="+"
    )
    target_agent = models.ForeignKey(
        "core.User", verbose_name="agent nommé", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    is_active = models.BooleanField("active", default=True)

    class Meta:
        verbose_name = "règle d’orientation"
        ordering = ["position", "id"]

    def __str__(self):
        return self.name


class OnCallShift(models.Model):
    """Who is on call for a service, from when to when (the rota)."""

    service = models.ForeignKey("core.Service", on_delete=models.CASCADE, related_name="on_call_shifts")
    agent = models.ForeignKey("core.User", on_delete=models.CASCADE, related_name="+")
    starts_at = models.DateTimeField("début")
    ends_at = models.DateTimeField("fin")

    class Meta:
        verbose_name = "astreinte"
        ordering = ["starts_at"]
        constraints = [models.CheckConstraint(condition=Q(ends_at__gt=models.F("starts_at")), name="shift_ends_after_start")]

    def __str__(self):
        return f"{self.agent} ({self.starts_at:%d/%m %H:%M} → {self.ends_at:%d/%m %H:%M})"


def default_office_hours() -> dict:
    day = [["08:30", "12:00"], ["13:30", "17:30"]]
    return {"0": day, "1": day, "2": day, "3": day, "4": day}

    def __str__(self):
        return f"{self.agent} ({self.starts_at:%d/%m %H:%M} → {self.ends_at:%d/%m %H:%M})"


class ReportSettings(models.Model):
    """An organisation's settings for the reports it receives."""

    organisation = models.OneToOneField("core.Organisation", on_delete=models.CASCADE, related_name="report_settings")
    triage_service = models.ForeignKey(
        "core.Service",
        verbose_name="service de tri",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        help_text="Reçoit les signalements qu’aucune règle n’oriente.",
    )
    # Weekday ("0" = Monday) → list of [start, end] times, local time.
    office_hours = models.JSONField("heures d’ouverture", default=default_office_hours)
    escalation_minutes = models.PositiveIntegerField(
        "relance si non pris en compte après (minutes)", default=60, validators=[MinValueValidator(1)]
    )
    retention_days = models.PositiveIntegerField(
        "effacement des photos et textes après clôture (jours)", default=180, validators=[MinValueValidator(1)]
    )

    class Meta:
        verbose_name = "réglages des signalements"

    def __str__(self):
        return f"réglages de {self.organisation}"


class Open311Client(models.Model):
    """An application allowed to file reports through the Open311 API."""

    organisation = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="open311_clients")
    name = models.CharField("nom", max_length=100)
    key_hash = models.CharField(max_length=64, unique=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self):
        return self.name
