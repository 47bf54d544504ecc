"""The journal: an append-only audit trail, chained by keyed MACs."""

from django.db import models


class JournalEntry(models.Model):
    """One change made by a person (or by the system), chained to the previous one.

    References are plain values, not foreign keys: an entry must never change,
    even when what it names is renamed or removed. ``mac`` is the
    HMAC-SHA-256 of the entry and of ``prev_mac`` under the key ``key_id``
    (``beffroi/core/journal.py``); entries written before the keys existed
    have no key id and a plain SHA-256 there.
    """

    seq = models.BigIntegerField("n°", unique=True)
    at = models.DateTimeField("date")
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_label = models.CharField("auteur", max_length=200)
    organisation_id = models.BigIntegerField(null=True, blank=True, db_index=True)
    action = models.CharField("action", max_length=80)
    object_type = models.CharField("type d’objet", max_length=80, blank=True)
    object_id = models.CharField("identifiant de l’objet", max_length=64, blank=True)
    object_label = models.CharField("objet", max_length=200, blank=True)
    data = models.JSONField("détails", default=dict, blank=True)
    prev_mac = models.CharField(max_length=64)
    mac = models.CharField("code d’authentification", max_length=64, unique=True)
    key_id = models.CharField("clé", max_length=16, blank=True, default="")

    class Meta:
        verbose_name = "entrée du journal"
        verbose_name_plural = "journal"
        ordering = ["-seq"]
        indexes = [models.Index(fields=["object_type", "object_id"])]

    def __str__(self):
        return f"#{self.seq} {self.action} {self.object_label}"
