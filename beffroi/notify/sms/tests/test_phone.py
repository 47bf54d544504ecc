"""French mobile numbers: what people type, and what they are told when it is wrong."""

import pytest
from django.core.exceptions import ValidationError

from beffroi.notify.sms.phone import display_mobile, normalise_mobile, validate_e164_mobile


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("06 12 34 56 78", "+33612345678"),
        ("0712345678", "+33712345678"),
        ("06.12.34.56.78", "+33612345678"),
        ("06-12-34-56-78", "+33612345678"),
        ("06\u00a012\u202f34 56 78", "+33612345678"),
        ("+33 6 12 34 56 78", "+33612345678"),
        ("+33 (0)7 12 34 56 78", "+33712345678"),
        ("0033612345678", "+33612345678"),
        (" +33712345678 ", "+33712345678"),
    ],
)
def test_typed_mobile_numbers_are_stored_in_e164(typed, stored):
    assert normalise_mobile(typed) == stored
    validate_e164_mobile(stored)


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("", "Indiquez un numéro de mobile."),
        ("01 23 45 67 89", "Ce numéro n’est pas un mobile : les SMS ne partent que vers les numéros en 06 ou 07."),
        ("+33 1 23 45 67 89", "Ce numéro n’est pas un mobile : les SMS ne partent que vers les numéros en 06 ou 07."),
        ("0899123456", "Ce numéro n’est pas un mobile : les SMS ne partent que vers les numéros en 06 ou 07."),
        ("+32 470 12 34 56", "Seuls les mobiles français (06 ou 07) peuvent recevoir des SMS."),
        ("0044 7700 900123", "Seuls les mobiles français (06 ou 07) peuvent recevoir des SMS."),
        ("06 12 34 56", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
        ("06 12 34 56 78 9", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
        ("612345678", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
        ("06 12 AB 56 78", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
        ("+33 6 12 34 56 7x", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
        # Digits of other scripts, and superscripts, are no phone number.
        ("٠٦١٢٣٤٥٦٧٨", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
        ("+33 ٦ 12 34 56 78", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
        ("06 12 34 56 7²", "Numéro de téléphone invalide : indiquez un mobile à 10 chiffres, par exemple 06 12 34 56 78."),
    ],
)
def test_other_numbers_are_refused_in_french(typed, message):
    with pytest.raises(ValidationError) as refused:
        normalise_mobile(typed)
    assert refused.value.messages == [message]


@pytest.mark.parametrize("value", ["0612345678", "+33112345678", "+3361234567", "+336123456789", ""])
def test_only_the_normalised_form_passes_the_model_validator(value):
    with pytest.raises(ValidationError):
        validate_e164_mobile(value)


def test_numbers_are_shown_in_pairs_that_never_break():
    assert display_mobile("+33612345678") == "06\u00a012\u00a034\u00a056\u00a078"
