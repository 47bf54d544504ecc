"""People and their roles in organisations."""

from django.contrib.auth.models import AbstractUser, UserManager
from django.db import models


class User(AbstractUser):
    """Any account: staff now, beneficiaries and aidants later.

    Inhabitants have no account. The e-mail address is optional (a
    beneficiary may have none) but unique when given.
    """

    email = models.EmailField("adresse électronique", blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = "compte"
        constraints = [
            models.UniqueConstraint(
                fields=["email"], condition=~models.Q(email=""), name="unique_user_email_when_set"
            )
        ]

    def __str__(self):
        return self.display_name

    @property
    def display_name(self) -> str:
        return self.get_full_name() or self.username


class MembershipQuerySet(models.QuerySet):
    def active(self):
        return self.filter(is_active=True, user__is_active=True, organisation__is_active=True)

    def of(self, user, organisation):
        return self.active().filter(user=user, organisation=organisation)


class Membership(models.Model):
    """A person's role in an organisation (rattachement)."""

    class Role(models.TextChoices):
        ADMINISTRATOR = "administrator", "Administrateur"
        EDITOR = "editor", "Éditeur"
        AGENT = "agent", "Agent"
        SOCIAL_WORKER = "social_worker", "Travailleur social"
        AIDANT = "aidant", "Aidant"

    user = models.ForeignKey(User, on_delete=models.PROTECT, related_name="memberships")
    organisation = models.ForeignKey("core.Organisation", on_delete=models.PROTECT, related_name="memberships")
    role = models.CharField("rôle", max_length=20, choices=Role.choices)
    service = models.ForeignKey(
        "core.Service", verbose_name="service", null=True, blank=True, on_delete=models.SET_NULL, related_name="members"
    )
    is_active = models.BooleanField("actif", default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = MembershipQuerySet.as_manager()

    class Meta:
        verbose_name = "rattachement"
        constraints = [models.UniqueConstraint(fields=["user", "organisation"], name="one_membership_per_organisation")]

    def __str__(self):
        return f"{self.user} — {self.get_role_display()} ({self.organisation})"

    # What each role may do in the back office. Administrators may do all.
    PERMISSIONS = {
        Role.ADMINISTRATOR: {
            "view_backoffice", "publish", "manage_site", "manage_staff", "view_journal", "handle_reports", "manage_reports",
        },
        Role.EDITOR: {"view_backoffice", "publish"},
        Role.AGENT: {"view_backoffice", "handle_reports"},
        # Safes open only through a link of the organisation, and only what is shared with it.
        Role.SOCIAL_WORKER: {"open_safes"},
        Role.AIDANT: set(),
    }

    def can(self, permission: str) -> bool:
        return permission in self.PERMISSIONS.get(self.role, set())
