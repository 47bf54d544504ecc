"""What editors publish: news, events, works and alerts; and information panels."""

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify


class Topic(models.Model):
    """A theme inhabitants filter by and subscribe to (culture, sport...)."""

    organisation = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="topics")
    name = models.CharField("nom", max_length=80)
    slug = models.SlugField("identifiant", max_length=80)
    position = models.PositiveSmallIntegerField("ordre", default=0)

    class Meta:
        verbose_name = "thème"
        ordering = ["position", "name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="unique_topic_slug")]

    def __str__(self):
        return self.name


class PostQuerySet(models.QuerySet):
    def of(self, commune):
        return self.filter(organisation=commune)

    def visible(self, now=None):
        now = now or timezone.now()
        return self.filter(status=Post.Status.PUBLISHED).filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))

    def current_alerts(self, now=None):
        return self.visible(now).filter(kind=Post.Kind.ALERT).order_by("-level_rank", "-published_at")

    def upcoming(self, now=None):
        """Events and works not over yet, soonest first."""
        now = now or timezone.now()
        return self.filter(Q(ends_at__gte=now) | Q(ends_at__isnull=True, starts_at__gte=now)).order_by("starts_at")

    def due_for_publication(self, now):
        return self.filter(status=Post.Status.SCHEDULED, publish_at__lte=now)

    def due_for_expiry(self, now):
        return self.filter(status=Post.Status.PUBLISHED, expires_at__lte=now)


class Post(models.Model):
    class Kind(models.TextChoices):
        NEWS = "news", "Actualité"
        EVENT = "event", "Manifestation"
        WORKS = "works", "Travaux"
        ALERT = "alert", "Alerte"

    class Status(models.TextChoices):
        DRAFT = "draft", "Brouillon"
        SCHEDULED = "scheduled", "Programmée"
        PUBLISHED = "published", "Publiée"
        WITHDRAWN = "withdrawn", "Retirée"
        EXPIRED = "expired", "Expirée"

    class Level(models.TextChoices):
        INFO = "info", "Information"
        WARNING = "warning", "Vigilance"
        DANGER = "danger", "Danger"

    class Traffic(models.TextChoices):
        NONE = "none", "Aucune gêne"
        SLOW = "slow", "Ralentissements"
        ALTERNATING = "alternating", "Circulation alternée"
        LANE_CLOSED = "lane_closed", "Voie rétrécie"
        CLOSED = "closed", "Route barrée, déviation"

    LEVEL_RANKS = {Level.INFO: 1, Level.WARNING: 2, Level.DANGER: 3}

    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="posts")
    kind = models.CharField("type", max_length=10, choices=Kind.choices)
    status = models.CharField("état", max_length=10, choices=Status.choices, default=Status.DRAFT)
    title = models.CharField("titre", max_length=150)
    slug = models.SlugField(max_length=160, allow_unicode=False)
    summary = models.CharField(
        "résumé", max_length=300, blank=True, help_text="Une ou deux phrases, reprises dans les listes et les notifications."
    )
    body = models.TextField("texte", blank=True, help_text="Mise en forme simple : **gras**, listes, [liens](https://…).")
    topic = models.ForeignKey(
        Topic, verbose_name="thème", null=True, blank=True, on_delete=models.SET_NULL, related_name="posts"
    )
    sectors = models.ManyToManyField("core.Sector", verbose_name="secteurs", blank=True, related_name="posts")

    image = models.ImageField("image", upload_to="publications/", blank=True)
    image_alt = models.CharField(
        "description de l’image",
        max_length=250,
        blank=True,
        help_text="Ce que montre l’image, pour les personnes qui ne la voient pas.",
    )
    image_width = models.PositiveIntegerField(null=True, blank=True)
    image_height = models.PositiveIntegerField(null=True, blank=True)
    # Width (as text) → storage name of a WebP rendition.
    image_renditions = models.JSONField(default=dict, blank=True)

    # Events and works.
    starts_at = models.DateTimeField("début", null=True, blank=True)
    ends_at = models.DateTimeField("fin", null=True, blank=True)
    place = models.CharField("lieu", max_length=200, blank=True)
    traffic = models.CharField("impact sur la circulation", max_length=12, choices=Traffic.choices, blank=True)

    # Alerts.
    level = models.CharField("niveau", max_length=10, choices=Level.choices, blank=True)
    level_rank = models.PositiveSmallIntegerField(default=0, editable=False)

    publish_at = models.DateTimeField("publication programmée le", null=True, blank=True)
    published_at = models.DateTimeField("publiée le", null=True, blank=True)
    expires_at = models.DateTimeField("expire le", null=True, blank=True)
    pushed_at = models.DateTimeField(null=True, blank=True, editable=False)

    created_by = models.ForeignKey("core.User", null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PostQuerySet.as_manager()

    class Meta:
        verbose_name = "publication"
        ordering = ["-published_at", "-created_at"]
        indexes = [
            models.Index(fields=["organisation", "status", "kind", "-published_at"]),
            models.Index(fields=["organisation", "kind", "starts_at"]),
        ]

    def __str__(self):
        return self.title

    def save(self, *args, **kwargs):
        # Derived, so that the most severe alert sorts first in SQL.
        self.level_rank = self.LEVEL_RANKS.get(self.level, 0)
        if not self.slug:
            self.slug = slugify(self.title)[:160] or "publication"
        super().save(*args, **kwargs)

    # Presentation helpers -----------------------------------------------------

    URL_NAMES = {
        Kind.NEWS: "info:news_detail",
        Kind.EVENT: "info:event_detail",
        Kind.WORKS: "info:works_detail",
        Kind.ALERT: "info:alert_detail",
    }

    def get_absolute_url(self) -> str:
        return reverse(self.URL_NAMES[self.kind], kwargs={"pk": self.pk, "slug": self.slug})

    def clean(self):
        errors = {}
        if self.kind == self.Kind.ALERT:
            if not self.level:
                errors["level"] = "Choisissez le niveau de l’alerte."
            if not self.summary:
                errors["summary"] = "Rédigez le message de l’alerte."
            if not self.expires_at:
                errors["expires_at"] = "Une alerte doit avoir une fin : indiquez quand elle expire."
        if self.kind in (self.Kind.EVENT, self.Kind.WORKS) and not self.starts_at:
            errors["starts_at"] = "Indiquez la date de début."
        if self.kind == self.Kind.EVENT and not self.place:
            errors["place"] = "Indiquez le lieu de la manifestation."
        if self.starts_at and self.ends_at and self.ends_at < self.starts_at:
            errors["ends_at"] = "La fin ne peut pas précéder le début."
        if self.image and not self.image_alt:
            errors["image_alt"] = "Décrivez l’image en quelques mots (accessibilité)."
        if errors:
            raise ValidationError(errors)

    @property
    def is_visible(self) -> bool:
        return self.status == self.Status.PUBLISHED and (self.expires_at is None or self.expires_at > timezone.now())

    def rendition_widths(self) -> list[int]:
        return sorted(int(w) for w in self.image_renditions)


class KindManager(models.Manager.from_queryset(PostQuerySet)):
    """The posts of one kind, for the proxy models of the glossary."""

    def __init__(self, kind: str):
        super().__init__()
        self.kind = kind

    def get_queryset(self):
        return super().get_queryset().filter(kind=self.kind)


class News(Post):
    objects = KindManager(Post.Kind.NEWS)

    class Meta:
        proxy = True
        verbose_name = "actualité"


class Event(Post):
    objects = KindManager(Post.Kind.EVENT)

    class Meta:
        proxy = True
        verbose_name = "manifestation"


class Works(Post):
    objects = KindManager(Post.Kind.WORKS)

    class Meta:
        proxy = True
        verbose_name = "travaux"


class Alert(Post):
    objects = KindManager(Post.Kind.ALERT)

    class Meta:
        proxy = True
        verbose_name = "alerte"


class Screen(models.Model):
    """An information panel (digital signage) and what it shows."""

    organisation = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="screens")
    name = models.CharField("nom", max_length=100, help_text="Par exemple : panneau de la place Elie Reumaux.")
    slug = models.SlugField("identifiant", max_length=80)
    kinds = models.JSONField(
        "types affichés", default=list, help_text="Actualités, manifestations, travaux (les alertes passent toujours en premier)."
    )
    topics = models.ManyToManyField(Topic, verbose_name="thèmes", blank=True)
    sectors = models.ManyToManyField("core.Sector", verbose_name="secteurs", blank=True)
    slide_seconds = models.PositiveSmallIntegerField("durée d’affichage de chaque page (s)", default=12)
    max_items = models.PositiveSmallIntegerField("nombre de publications", default=12)

    class Meta:
        verbose_name = "panneau d’information"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="unique_screen_slug")]

    def __str__(self):
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("info:panel", kwargs={"slug": self.slug})


class FeedSubscription(models.Model):
    """A browser's Web Push subscription to a commune's feed.

    Only what sending needs: the endpoint, its keys, and what was chosen.
    No IP address, no user agent, no date.
    """

    organisation = models.ForeignKey("core.Organisation", on_delete=models.CASCADE, related_name="+")
    endpoint = models.URLField(max_length=1000, unique=True)
    p256dh = models.CharField(max_length=100)
    auth = models.CharField(max_length=40)
    alerts = models.BooleanField("alertes", default=True)
    topics = models.ManyToManyField(Topic, blank=True, related_name="+")
    sectors = models.ManyToManyField("core.Sector", blank=True, related_name="+")

    class Meta:
        verbose_name = "abonnement aux notifications"

    def __str__(self):
        return self.endpoint[:60]
