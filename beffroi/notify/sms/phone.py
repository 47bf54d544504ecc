"""French mobile numbers: what people type, normalised to E.164 (+336…, +337…).

SMS only go to French mobiles (06 and 07, +336 and +337 once normalised);
anything else is refused with a message that says what to type.
"""

import re

from django.core.exceptions import ValidationError

# Separators people put in numbers: spaces (also the no-break ones), dots,
# hyphens, slashes, and the parentheses of "+33 (0)6…".
_SEPARATORS = re.compile(r"[\s\u00a0\u202f.\-/()]")
E164_MOBILE = re.compile(r"\+33[67]\d{8}")

INVALID = "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."
NOT_MOBILE = "Ce numéro n’est pas un mobile : les SMS ne partent que vers les numéros en 06 ou 07."
NOT_FRENCH = "Seuls les mobiles français (06 ou 07) peuvent recevoir des SMS."
EMPTY = "Indiquez un numéro de mobile."


def normalise_mobile(value: str) -> str:
    """``+336XXXXXXXX`` or ``+337XXXXXXXX``, or ValidationError (in French)."""
    raw = _SEPARATORS.sub("", value or "")
    if not raw:
        raise ValidationError(EMPTY, code="empty")
    if raw.startswith("00"):
        raw = "+" + raw[2:]
    if raw.startswith("+"):
        if not (raw.isascii() and raw[1:].isdigit()):
            raise ValidationError(INVALID, code="invalid")
        if not raw.startswith("+33"):
            raise ValidationError(NOT_FRENCH, code="not_french")
        national = raw[3:]
        # "+33 (0)6 12…": the trunk 0 is written but not dialled.
        if national.startswith("0"):
            national = national[1:]
    elif raw.isascii() and raw.isdigit() and len(raw) == 10 and raw.startswith("0"):
        national = raw[1:]
    else:
        raise ValidationError(INVALID, code="invalid")
    if len(national) != 9 or not (national.isascii() and national.isdigit()):
        raise ValidationError(INVALID, code="invalid")
    if national[0] not in "67":
        raise ValidationError(NOT_MOBILE, code="not_mobile")
    return "+33" + national


def validate_e164_mobile(value: str) -> None:
    """Model field validator: only the normalised form is stored."""
    if not E164_MOBILE.fullmatch(value or ""):
        raise ValidationError(INVALID, code="invalid")


def display_mobile(e164: str) -> str:
    """``+33612345678`` → ``06 12 34 56 78``, with no-break spaces (never cut in two)."""
    national = "0" + e164[3:]
    return "\u00a0".join(national[i : i + 2] for i in range(0, 10, 2))
