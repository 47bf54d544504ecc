"""Passkeys (WebAuthn) as the second factor, with Chromium's virtual authenticator."""

import pytest

from beffroi.core.models import Domain, Membership
from conftest import STAFF_PASSWORD, make_staff

pytestmark = pytest.mark.browser


def _virtual_authenticator(page):
    """A platform authenticator that says yes (WebAuthn domain of the DevTools protocol)."""
    session = page.context.new_cdp_session(page)
    session.send("WebAuthn.enable")
    added = session.send(
        "WebAuthn.addVirtualAuthenticator",
        {
            "options": {
                "protocol": "ctap2",
                "transport": "internal",
                "hasResidentKey": True,
                "hasUserVerification": True,
                "isUserVerified": True,
                "automaticPresenceSimulation": True,
            }
        },
    )
    return session, added["authenticatorId"]


def test_an_agent_enrols_a_passkey_then_signs_in_with_it_alone(live_server_asgi, commune, new_page):
    # WebAuthn needs a domain name (not an IP address): http://localhost is a secure context.
    Domain.objects.create(hostname="localhost", organisation=commune)
    agent = make_staff(commune, Membership.Role.AGENT)
    base_url = live_server_asgi.url.replace("127.0.0.1", "localhost")
    page = new_page(base_url)
    session, authenticator = _virtual_authenticator(page)

    # First sign-in: password, then the back office sends the agent to enrol.
    page.goto("/compte/login/")
    page.get_by_label("Adresse électronique ou identifiant").fill(agent.email)
    page.get_by_label("Mot de passe").fill(STAFF_PASSWORD)
    page.get_by_role("button", name="Se connecter", exact=True).click()
    page.goto("/compte/2fa/webauthn/add/")
    page.locator("input[name=name]").fill("Téléphone de service")
    page.locator("input[name=passwordless]").check()
    page.locator("#mfa_webauthn_add").click()
    page.wait_for_url(lambda url: "/webauthn/add" not in url)
    credentials = session.send("WebAuthn.getCredentials", {"authenticatorId": authenticator})["credentials"]
    assert len(credentials) == 1 and credentials[0]["isResidentCredential"]
    page.goto("/gestion/")
    assert page.locator("h1").inner_text() == "Tableau de bord"

    # Signed out, the passkey alone signs in, second factor included.
    page.context.clear_cookies()
    page.goto("/compte/login/")
    page.locator("#passkey_login").click()
    page.wait_for_url(lambda url: "/compte/login" not in url)
    page.goto("/gestion/")
    assert page.locator("h1").inner_text() == "Tableau de bord"

