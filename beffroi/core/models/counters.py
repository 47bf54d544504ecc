from django.db import models


class Counter(models.Model):
    """One abuse counter (``beffroi.core.counters``): attempts counted in a
    window, under a keyed hash; never an address or a login in clear."""

    key = models.CharField(max_length=64, primary_key=True)
    count = models.PositiveIntegerField(default=0)
    # End of the window: the row means nothing after it and the daily job deletes it.
    expires_at = models.DateTimeField(db_index=True)
    # Progressive delays of the sign-in: no attempt before this time.
    not_before = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.key
