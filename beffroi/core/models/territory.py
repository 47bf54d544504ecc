"""The territory: organisations, their host names, services and sectors."""

from django.core.validators import RegexValidator
from django.db import models
from django.db.models.functions import Lower

from beffroi.core.colours import validate_brand_colour
from beffroi.core.geo import validate_area


class OrganisationQuerySet(models.QuerySet):
    def communes(self):
        return self.filter(kind=Organisation.Kind.COMMUNE)

    def active(self):
        return self.filter(is_active=True)


class Organisation(models.Model):
    """A body that has staff: a commune, the agglomeration, a CCAS, France Services..."""

    class Kind(models.TextChoices):
        COMMUNE = "commune", "Commune"
        AGGLOMERATION = "agglomeration", "Agglomération"
        CCAS = "ccas", "CCAS"
        FRANCE_SERVICES = "france_services", "France Services"
        ASSOCIATION = "association", "Association"

    kind = models.CharField("type", max_length=20, choices=Kind.choices)
    name = models.CharField("nom", max_length=150)
    slug = models.SlugField("identifiant", max_length=80, unique=True)
    parent = models.ForeignKey(
        "self",
        verbose_name="rattachée à",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
        help_text="L’agglomération d’une commune, la commune d’un CCAS.",
    )
    insee_code = models.CharField(
        "code INSEE", max_length=5, blank=True, validators=[RegexValidator(r"^\d[\dAB]\d{3}$", "Code INSEE invalide.")]
    )
    # Branding of a commune's site and app.
    brand_colour = models.CharField(
        "couleur principale", max_length=7, default="#1d4f91", validators=[validate_brand_colour]
    )
    coat_of_arms = models.ImageField("blason", upload_to="blasons/", blank=True)
    # Public contact details, shown in the site's footer.
    address = models.TextField("adresse", blank=True)
    phone = models.CharField("téléphone", max_length=30, blank=True)
    email = models.EmailField("courriel", blank=True)
    opening_hours = models.TextField("horaires d’ouverture", blank=True)
    # A commune's boundary: reports outside it are refused (and sent to the
    # commune whose boundary holds them).
    area = models.JSONField("limites (GeoJSON)", null=True, blank=True, validators=[validate_area])
    is_active = models.BooleanField("active", default=True)

    objects = OrganisationQuerySet.as_manager()

    class Meta:
        verbose_name = "organisation"
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_commune(self) -> bool:
        return self.kind == self.Kind.COMMUNE


class Domain(models.Model):
    """A host name that serves one commune's site."""

    hostname = models.CharField("nom d’hôte", max_length=253, unique=True)
    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="domains")
    is_primary = models.BooleanField("principal", default=False)

    class Meta:
        verbose_name = "nom de domaine"
        constraints = [
            models.UniqueConstraint(
                fields=["organisation"], condition=models.Q(is_primary=True), name="one_primary_domain"
            ),
            models.CheckConstraint(condition=models.Q(hostname=Lower("hostname")), name="hostname_lowercase"),
        ]

    def __str__(self):
        return self.hostname


class Service(models.Model):
    """A team inside an organisation (services techniques, état civil...)."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="services")
    name = models.CharField("nom", max_length=150)
    slug = models.SlugField("identifiant", max_length=80)
    email = models.EmailField("courriel du service", blank=True)
    head = models.ForeignKey(
        "core.User", verbose_name="responsable", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = "service"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="unique_service_slug")]

    def __str__(self):
        return self.name


class Sector(models.Model):
    """A named zone of a commune (quartier), as a GeoJSON polygon."""

    organisation = models.ForeignKey(Organisation, on_delete=models.CASCADE, related_name="sectors")
    name = models.CharField("nom", max_length=150)
    slug = models.SlugField("identifiant", max_length=80)
    area = models.JSONField("périmètre (GeoJSON)", validators=[validate_area])

    class Meta:
        verbose_name = "secteur"
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["organisation", "slug"], name="unique_sector_slug")]

    def __str__(self):
        return self.name
