"""On PostgreSQL, the database itself refuses UPDATE and DELETE on the journal."""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION beffroi_journal_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'Le journal est en ajout seul : % interdit sur core_journalentry', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER journal_append_only
    BEFORE UPDATE OR DELETE ON core_journalentry
    FOR EACH ROW EXECUTE FUNCTION beffroi_journal_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS journal_append_only ON core_journalentry;
DROP FUNCTION IF EXISTS beffroi_journal_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0001_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
