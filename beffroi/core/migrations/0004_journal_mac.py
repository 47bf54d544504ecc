"""The journal's entries are chained by keyed MACs: each names its key."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("core", "0003_organisation_area")]

    operations = [
        migrations.RenameField(model_name="journalentry", old_name="prev_hash", new_name="prev_mac"),
        migrations.RenameField(model_name="journalentry", old_name="hash", new_name="mac"),
        migrations.AlterField(
            model_name="journalentry",
            name="mac",
            field=models.CharField(max_length=64, unique=True, verbose_name="code d’authentification"),
        ),
        # Existing entries get an empty key id: they were hashed without a key.
        migrations.AddField(
            model_name="journalentry",
            name="key_id",
            field=models.CharField(blank=True, default="", max_length=16, verbose_name="clé"),
        ),
    ]
