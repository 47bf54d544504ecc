"""How journal actions read in French, for the people who consult the journal."""

VERBS = {
    "create": "création",
    "update": "modification",
    "delete": "suppression",
    "publish": "publication",
    "schedule": "programmation",
    "unschedule": "déprogrammation",
    "withdraw": "retrait",
    "expire": "expiration",
    "to_draft": "retour au brouillon",
}
NOUNS = {
    "post": "publication",
    "topic": "thème",
    "sector": "quartier",
    "service": "service",
    "screen": "panneau",
    "organisation": "commune",
    "domain": "nom de domaine",
    "membership": "rattachement",
}


def action_label(action: str) -> str:
    """``sector.create`` → « Quartier : création »; unknown codes stay as they are."""
    noun, _, verb = action.partition(".")
    if verb in VERBS and noun in NOUNS:
        return f"{NOUNS[noun].capitalize()} : {VERBS[verb]}"
    return action
