"""Names people give (documents, folders, files): without invisible characters.

Bidirectional controls (U+202A–U+202E, U+2066–U+2069, U+200E, U+200F) make
"facture<U+202E>fdp.exe" read as "factureexe.pdf"; other control and format
characters (NUL, zero-width ones) hide or break what a name shows, in
pages, in a download's file name and in the export's paths. Format
characters (Cf) and lone surrogates (Cs) are removed; controls (Cc: tabs,
line breaks…) and line or paragraph separators (Zl, Zp) become a space;
then spaces are collapsed.
"""

import unicodedata

REMOVED = {"Cf", "Cs"}
SPACED = {"Cc", "Zl", "Zp"}


def _shown(c: str) -> str:
    category = unicodedata.category(c)
    if category in REMOVED:
        return ""
    return " " if category in SPACED else c


def clean_name(value: str | None, *, limit: int | None = None) -> str:
    """``value`` without invisible characters, spaces collapsed, cut at ``limit``."""
    shown = " ".join("".join(_shown(c) for c in value or "").split())
    return shown[:limit].strip() if limit is not None else shown
