"""How journal actions read in French, for the people who consult the journal.

An action is ``noun.verb`` (``sector.create``). The core names its own nouns
and the common verbs; each app declares the rest in its ``AppConfig.ready()``
(``declare(nouns=…, verbs=…, actions=…)``), the way it declares its URLs, and
``actions`` gives a whole label where noun and verb do not read well.
"""

VERBS = {
    "create": "création",
    "update": "modification",
    "delete": "suppression",
    "seal": "scellement des entrées antérieures à la clé",
}
NOUNS = {
    "organisation": "commune",
    "domain": "nom de domaine",
    "membership": "rattachement",
    "service": "service",
    "sector": "quartier",
    "journal": "journal",
}
ACTIONS: dict[str, str] = {}


def declare(*, nouns: dict[str, str] | None = None, verbs: dict[str, str] | None = None,
            actions: dict[str, str] | None = None) -> None:
    for known, declared in ((NOUNS, nouns), (VERBS, verbs), (ACTIONS, actions)):
        for code, label in (declared or {}).items():
            if known.get(code, label) != label:
                raise ValueError(f"Deux libellés pour « {code} » : « {known[code]} » et « {label} ».")
            known[code] = label


def action_label(action: str) -> str:
    """``sector.create`` → « Quartier : création »; unknown codes stay as they are."""
    if action in ACTIONS:
        return ACTIONS[action]
    noun, _, verb = action.partition(".")
    if verb in VERBS and noun in NOUNS:
        return f"{NOUNS[noun].capitalize()} : {VERBS[verb]}"
    return action
