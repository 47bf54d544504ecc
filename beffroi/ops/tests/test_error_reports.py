"""The operators' error e-mail: enough to find the fault, nothing of the visitor."""

from django.test import Client


def test_the_error_mail_shows_no_token_form_value_address_or_agent(commune, settings, mailoutbox):
    settings.ROOT_URLCONF = "beffroi.ops.tests.failing_urls"
    settings.ADMINS = [("Exploitation", "exploitation@example.org")]
    settings.DEBUG = False
    token = "jeton-secret-de-suivi-0123456789abcdef"
    client = Client(raise_request_exception=False)
    response = client.post(f"/suivi/{token}/panne/?code=987654", {"password": "Mot-de-passe-2026!", "code": "123456"},
                           REMOTE_ADDR="203.0.113.77", HTTP_USER_AGENT="Navigateur-Temoin/7.3",
                           HTTP_REFERER=f"https://haisnes.fr/suivi/{token}/")
    assert response.status_code == 500
    (mail,) = mailoutbox
    text = mail.subject + mail.body
    assert "RuntimeError" in text and "une panne" in text  # what the operators need
    for secret in (token, "987654", "Mot-de-passe-2026!", "123456", "203.0.113.77", "Navigateur-Temoin"):
        assert secret not in text, secret
