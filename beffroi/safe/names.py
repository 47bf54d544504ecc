"""Names people give (documents, folders, files): without invisible characters.

Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F) make
« facture‮fdp.exe » read as « facture‮exe.pdf »; other control and format
characters (NUL, line breaks, zero-width ones) hide or break what a name
shows, in pages, in a download's file name and in the export's paths. They
all go: controls (Cc), format characters (Cf), separators of lines and
paragraphs (Zl, Zp) and lone surrogates (Cs) become a space, then spaces are
collapsed.
"""

import unicodedata

STRIPPED = {"Cc", "Cf", "Cs", "Zl", "Zp"}


def clean_name(value: str | None, *, limit: int | None = None) -> str:
    """``value`` without invisible characters, spaces collapsed, cut at ``limit``."""
    shown = "".join(" " if unicodedata.category(c) in STRIPPED else c for c in value or "")
    shown = " ".join(shown.split())
    return shown[:limit].strip() if limit is not None else shown
