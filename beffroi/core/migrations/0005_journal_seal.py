"""Seal the entries written before the journal had a key.

They carry plain SHA-256 hashes, which anyone could recompute after altering
them. One signed entry appended after them covers the last one's hash: from
then on, changing any of them breaks the link to that entry, whose MAC needs
the key. Nothing is rewritten. An empty journal, or one that already ends with
a signed entry, is left as it is (so the key is only needed here when there
is something to seal).
"""

from django.db import migrations


def seal(apps, schema_editor):
    from beffroi.core.journal import seal_unsigned

    seal_unsigned(apps.get_model("core", "JournalEntry"), using=schema_editor.connection.alias)


class Migration(migrations.Migration):
    dependencies = [("core", "0004_journal_mac")]

    # Entries are never removed: there is no way back.
    operations = [migrations.RunPython(seal, migrations.RunPython.noop)]
