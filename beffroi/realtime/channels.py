"""Names of the event channels, in one place."""


def public(commune_id: int) -> str:
    """Everything an inhabitant's open page of this commune must know."""
    return f"public:{commune_id}"


def reports_received(organisation_id: int) -> str:
    """New and changed reports, for the consoles of the organisation that received them."""
    return f"reports:{organisation_id}"


def report(report_id: int) -> str:
    """A report's public steps, for every holder of a follow link (author or follower)."""
    return f"report:{report_id}"


def report_author(report_id: int) -> str:
    """What only a report's author may know of: the steps between the author and the agents."""
    return f"report-author:{report_id}"


def safe_link(link_id: int) -> str:
    """A safe's link with an organisation: its professionals' open pages close when it breaks."""
    return f"safe-link:{link_id}"
