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
    "acknowledge": "prise en compte",
    "start": "début du traitement",
    "resolve": "résolution",
    "reject": "rejet",
    "mark_duplicate": "doublon",
    "transfer": "transfert",
    "reopen": "réouverture",
    "assign": "attribution",
    "reply": "réponse publique",
    "note": "note interne",
    "question": "question à l’auteur",
    "photo": "photo",
    "moderate": "publication",
    "escalate": "relance",
    "purge": "effacement",
    "seal": "scellement des entrées antérieures à la clé",
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
    "report": "signalement",
    "open311_client": "client Open311",
    "category": "catégorie de signalement",
    "routingrule": "règle d’orientation",
    "categoryquestion": "question d’une catégorie",
    "oncallshift": "astreinte",
    "reportsettings": "réglages des signalements",
    "journal": "journal",
}


def action_label(action: str) -> str:
    """``sector.create`` → « Quartier : création »; unknown codes stay as they are."""
    noun, _, verb = action.partition(".")
    if verb in VERBS and noun in NOUNS:
        return f"{NOUNS[noun].capitalize()} : {VERBS[verb]}"
    return action
