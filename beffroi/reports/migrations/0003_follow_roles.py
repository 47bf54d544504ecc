"""Follow links carry their role: the author's, or a follower's.

Every existing link becomes a follower's, then the author's is found again:
``report_submit`` created it in the report's own transaction, after the report
and before its "submitted" entry. Links made by ``report_follow`` came later,
and those moved from a merged duplicate belong to another report's author,
who follows this one: both stay followers' (the public view).

A push subscription cannot be traced to its link: it is the author's only when
the report has no other link than the author's; otherwise a follower's (told
of public steps only), the safe side.
"""

from datetime import timedelta

from django.db import migrations, models
from django.db.models import Count, Min

BATCH = 500


def _in_batches(ids):
    ids = list(ids)
    for start in range(0, len(ids), BATCH):
        yield ids[start:start + BATCH]


def set_roles(apps, schema_editor):
    Report = apps.get_model("reports", "Report")
    ReportEntry = apps.get_model("reports", "ReportEntry")
    FollowToken = apps.get_model("reports", "FollowToken")
    ReportSubscription = apps.get_model("reports", "ReportSubscription")

    filed = dict(Report.objects.values_list("pk", "created_at").iterator())
    submitted = dict(
        ReportEntry.objects.filter(kind="submitted").order_by().values("report_id").annotate(at=Min("created_at"))
        .values_list("report_id", "at")
    )
    authors = {}  # report id → its author's link
    links = FollowToken.objects.order_by("pk").values_list("pk", "report_id", "created_at")
    for pk, report_id, created_at in links.iterator():
        start = filed[report_id]
        end = submitted.get(report_id, start + timedelta(seconds=5))
        if report_id not in authors and start <= created_at <= end:
            authors[report_id] = pk
    for batch in _in_batches(authors.values()):
        FollowToken.objects.filter(pk__in=batch).update(role="author")

    counts = FollowToken.objects.order_by().values("report_id").annotate(n=Count("id")).values_list("report_id", "n")
    alone = [report_id for report_id, n in counts.iterator() if n == 1 and report_id in authors]
    for batch in _in_batches(alone):
        ReportSubscription.objects.filter(report_id__in=batch).update(role="author")


class Migration(migrations.Migration):

    dependencies = [
        ("reports", "0002_category_questions"),
    ]

    operations = [
        migrations.AddField(
            model_name="followtoken",
            name="role",
            field=models.CharField(
                choices=[("author", "Auteur"), ("follower", "Personne qui suit")], default="follower", max_length=10
            ),
            preserve_default=False,
        ),
        migrations.AddField(
            model_name="reportsubscription",
            name="role",
            field=models.CharField(
                choices=[("author", "Auteur"), ("follower", "Personne qui suit")], default="follower", max_length=10
            ),
            preserve_default=False,
        ),
        migrations.RunPython(set_roles, migrations.RunPython.noop, elidable=True),
    ]
