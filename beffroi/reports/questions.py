"""The questions a category asks with its reports (Open311 "attributes").

Answers arrive as text, from the web form or from an Open311 client
(``attribute[code]=value``, several values for a multiple choice), and are
checked here whoever sends them. They are stored on the report with the
question's wording of the day, so that editing a question later does not
change what an author answered.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.text import slugify

from beffroi.reports.models import Category, CategoryQuestion

MAX_ANSWER = 500
MAX_NUMBER = Decimal("1e9")
Kind = CategoryQuestion.Kind


class AnswerError(ValidationError):
    """Faults in the answers, keyed by question code."""


def questions_of(category: Category) -> list[CategoryQuestion]:
    return list(category.questions.all())


def _one(question: CategoryQuestion, values: list[str]) -> tuple[object, str]:
    """(value stored, text shown) for one question's non-empty answer."""
    if question.kind != Kind.CHOICES and len(values) > 1:
        raise ValidationError("Une seule réponse est attendue.")
    value = values[0]
    if question.kind in (Kind.STRING, Kind.TEXT):
        limit = 200 if question.kind == Kind.STRING else MAX_ANSWER
        if len(value) > limit:
            raise ValidationError(f"{limit} caractères au plus.")
        return value, value
    if question.kind == Kind.NUMBER:
        try:
            number = Decimal(value.replace(",", ".").replace("\u202f", "").replace(" ", ""))
        except InvalidOperation:
            number = None
        if number is None or not number.is_finite() or abs(number) >= MAX_NUMBER:
            raise ValidationError("Indiquez un nombre, par exemple 3 ou 2,5.")
        text = format(number.normalize(), "f")
        return text, text.replace(".", ",")
    if question.kind == Kind.DATETIME:
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise ValidationError("Date illisible : écrivez-la sous la forme 2026-05-02T09:30.") from None
        if timezone.is_naive(moment):
            moment = timezone.make_aware(moment)
        local = timezone.localtime(moment)
        return local.isoformat(timespec="minutes"), local.strftime("%d/%m/%Y à %H:%M")
    options = dict(question.options)
    unknown = [v for v in values if v not in options]
    if unknown:
        raise ValidationError(f"Choix inconnu : « {unknown[0][:40]} ». Choix possibles : {', '.join(options.values())}.")
    keys = list(dict.fromkeys(values))  # once each, in the order given
    if question.kind == Kind.CHOICE:
        return keys[0], options[keys[0]]
    return keys, ", ".join(options[k] for k in keys)


def clean_answers(category: Category, raw: Mapping[str, list[str]]) -> list[dict]:
    """Check the answers to ``category``'s questions; ``raw`` maps a question's
    code to the values sent. Codes the category does not ask are ignored and
    never stored: Open311 clients such as FixMyStreet send their own
    (fixmystreet_id, report_url...). Raises AnswerError({code: message})
    naming each fault."""
    questions = questions_of(category)
    errors = {}
    answers = []
    for question in questions:
        values = [str(v).strip() for v in raw.get(question.code, [])]
        values = [v for v in values if v]
        if not values:
            if question.required:
                errors[question.code] = "Réponse obligatoire."
            continue
        try:
            value, text = _one(question, values)
        except ValidationError as exc:
            errors[question.code] = exc.messages[0]
            continue
        answers.append(
            {"code": question.code, "question": question.label, "kind": question.kind, "value": value, "text": text}
        )
    if errors:
        raise AnswerError(errors)
    return answers


def kept_after_purge(answers: list[dict]) -> list[dict]:
    """What the retention purge leaves: the choices, numbers and dates, not the free texts."""
    return [a for a in answers if a.get("kind") not in (Kind.STRING, Kind.TEXT)]


def check_options(kind: str, lines: str) -> list[list[str]]:
    """The choices of a list question, one per line (« clé : libellé », or a
    label alone, whose key is derived from it)."""
    if kind not in (Kind.CHOICE, Kind.CHOICES):
        if lines.strip():
            raise ValidationError("Seules les questions à choix ont des choix proposés.")
        return []
    options = []
    for line in lines.splitlines():
        line = line.strip()
        if not line:
            continue
        key, _, label = line.partition(":") if ":" in line else (slugify(line), "", line)
        key, label = slugify(key.strip())[:40], label.strip()
        if not key or not label:
            raise ValidationError(f"Choix illisible : « {line[:60]} ». Écrivez « clé : libellé » ou un libellé seul.")
        if key in dict(options):
            raise ValidationError(f"Deux choix ont la même clé : « {key} ».")
        options.append([key, label[:100]])
    if len(options) < 2:
        raise ValidationError("Proposez au moins deux choix, un par ligne.")
    if len(options) > 30:
        raise ValidationError("30 choix au plus.")
    return options
