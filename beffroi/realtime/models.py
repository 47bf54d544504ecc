"""The event log: what happened, in order. Its ids are the SSE ids."""

from django.db import models


class Event(models.Model):
    id = models.BigAutoField(primary_key=True)
    channel = models.CharField(max_length=100)
    type = models.CharField(max_length=60)
    data = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        indexes = [models.Index(fields=["channel", "id"])]

    def __str__(self):
        return f"{self.id} {self.channel} {self.type}"
