"""Names of the event channels, in one place."""


def public(commune_id: int) -> str:
    """Everything an inhabitant's open page of this commune must know."""
    return f"public:{commune_id}"
