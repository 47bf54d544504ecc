from django.db import models


class WorkerHeartbeat(models.Model):
    """Proof of life of a task worker, so that the tasks of a killed one are retried."""

    worker_id = models.CharField(max_length=64, unique=True)
    seen_at = models.DateTimeField()

    def __str__(self):
        return self.worker_id
