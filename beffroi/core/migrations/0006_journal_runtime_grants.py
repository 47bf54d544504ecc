"""On PostgreSQL, no role but the table's owner may change the journal's rows.

The application's runtime role receives full DML on the tables the owner
creates (ALTER DEFAULT PRIVILEGES, docs/deploy.md), the journal included:
here every other role loses UPDATE, DELETE, TRUNCATE and TRIGGER on it, and
keeps INSERT and SELECT. The owner, who runs the migrations, could still
disable the trigger of migration 0002: that is why the application must not
connect as the owner.
"""

from django.db import migrations

REVOKE = """
REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER ON core_journalentry FROM PUBLIC;
DO $$
DECLARE grantee name;
BEGIN
    FOR grantee IN
        SELECT DISTINCT r.rolname
        FROM pg_class c, aclexplode(c.relacl) a, pg_roles r
        WHERE c.oid = 'core_journalentry'::regclass
          AND a.grantee = r.oid
          AND a.grantee <> c.relowner
          AND a.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE', 'TRIGGER')
    LOOP
        EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE, TRIGGER ON core_journalentry FROM %I', grantee);
    END LOOP;
END
$$;
"""


def revoke(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVOKE, params=None)


class Migration(migrations.Migration):
    dependencies = [("core", "0005_journal_seal")]

    operations = [migrations.RunPython(revoke, migrations.RunPython.noop)]
