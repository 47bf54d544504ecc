"""The operators' commands: add_commune and create_staff."""

from io import StringIO
from unittest import mock
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError

from beffroi.core import journal
from beffroi.core.journal import SYSTEM_LABEL
from beffroi.core.models import Domain, JournalEntry, Membership, Organisation, User
from conftest import STAFF_PASSWORD


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


# --- add_commune -----------------------------------------------------------


def test_add_commune_creates_the_commune_and_its_host_names(db, settings):
    settings.ALLOWED_HOSTS = ["douvrin.fr", "www.douvrin.fr"]
    out = run("add_commune", "douvrin", "--name", "Douvrin", "--host", "Douvrin.FR.", "--host", "www.douvrin.fr",
              "--insee", "62276")
    commune = Organisation.objects.get(slug="douvrin")
    assert commune.kind == Organisation.Kind.COMMUNE
    assert (commune.name, commune.insee_code) == ("Douvrin", "62276")
    domains = list(commune.domains.order_by("pk").values_list("hostname", "is_primary"))
    assert domains == [("douvrin.fr", True), ("www.douvrin.fr", False)]
    assert "Commune Douvrin (douvrin) créée" in out
    assert "ALLOWED_HOSTS" not in out


def test_add_commune_is_journaled_as_the_system(db):
    run("add_commune", "douvrin", "--name", "Douvrin", "--host", "douvrin.fr", "--host", "www.douvrin.fr")
    commune = Organisation.objects.get(slug="douvrin")
    entries = list(JournalEntry.objects.order_by("seq"))
    assert [e.action for e in entries] == ["organisation.create", "domain.create", "domain.create"]
    assert {e.actor_id for e in entries} == {None}
    assert {e.actor_label for e in entries} == {SYSTEM_LABEL}
    assert {e.organisation_id for e in entries} == {commune.pk}
    assert entries[0].data["hosts"] == ["douvrin.fr", "www.douvrin.fr"]
    assert journal.verify_chain().broken is None


def test_a_new_commune_is_served_on_its_host_name(db, client, settings):
    settings.ALLOWED_HOSTS = ["douvrin.fr"]
    run("add_commune", "douvrin", "--name", "Douvrin", "--host", "douvrin.fr")
    response = client.get("/", HTTP_HOST="douvrin.fr")
    assert response.status_code == 200
    assert "Douvrin" in response.content.decode()


def test_add_commune_warns_of_a_host_missing_from_allowed_hosts(db, settings):
    settings.ALLOWED_HOSTS = [".douvrin.fr"]
    out = run("add_commune", "douvrin", "--name", "Douvrin", "--host", "www.douvrin.fr", "--host", "mairie-douvrin.fr")
    assert "Attention : mairie-douvrin.fr absent(s) de ALLOWED_HOSTS" in out
    assert "www.douvrin.fr absent" not in out


def test_add_commune_stores_internationalised_names_in_ascii(db):
    run("add_commune", "bethune", "--name", "Béthune", "--host", "mairie-béthune.fr")
    assert Domain.objects.get().hostname == "xn--mairie-bthune-ihb.fr"


def test_add_commune_attaches_the_commune_to_its_agglomeration(db):
    agglomeration = Organisation.objects.create(kind=Organisation.Kind.AGGLOMERATION, name="Agglo", slug="agglo")
    run("add_commune", "douvrin", "--name", "Douvrin", "--host", "douvrin.fr", "--parent", "agglo")
    assert Organisation.objects.get(slug="douvrin").parent == agglomeration
    with pytest.raises(CommandError, match="Aucune organisation n’a l’identifiant « inconnue »"):
        run("add_commune", "haisnes", "--name", "Haisnes", "--host", "haisnes.fr", "--parent", "inconnue")


def test_add_commune_refuses_a_host_name_already_used(commune):
    with pytest.raises(CommandError, match="déjà utilisé.*testserver.*Haisnes"):
        run("add_commune", "douvrin", "--name", "Douvrin", "--host", "douvrin.fr", "--host", "testserver.")
    assert not Organisation.objects.filter(slug="douvrin").exists()
    assert not Domain.objects.filter(hostname="douvrin.fr").exists()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["haisnes", "--name", "Haisnes", "--host", "haisnes.fr"], "déjà pris"),
        (["haisnes", "--host", "haisnes.fr"], "déjà pris"),
        (["douvrin", "--name", "Douvrin", "--host", "pas un nom"], "Nom d’hôte invalide"),
        (["douvrin", "--name", "Douvrin", "--host", "douvrin.fr/admin"], "Nom d’hôte invalide"),
        (["douvrin", "--name", "Douvrin", "--host=-douvrin"], "Nom d’hôte invalide"),
        (["douvrin", "--name", "Douvrin", "--host", "douvrin.fr", "--insee", "6227"], "Code INSEE invalide"),
    ],
)
def test_add_commune_refuses_bad_input_and_writes_nothing(commune, args, message):
    before = (Organisation.objects.count(), Domain.objects.count(), JournalEntry.objects.count())
    with pytest.raises(CommandError, match=message):
        run("add_commune", *args)
    assert (Organisation.objects.count(), Domain.objects.count(), JournalEntry.objects.count()) == before


def test_add_commune_requires_a_name_for_a_new_commune(db):
    with pytest.raises(CommandError, match="--name"):
        run("add_commune", "douvrin", "--host", "douvrin.fr")
    assert not Organisation.objects.exists()


def test_add_commune_adds_host_names_to_an_existing_commune(commune):
    out = run("add_commune", "haisnes", "--existing", "--host", "www.haisnes.fr")
    domain = Domain.objects.get(hostname="www.haisnes.fr")
    assert domain.organisation == commune
    assert not domain.is_primary  # "testserver" stays the primary name
    assert "Noms d’hôte ajoutés à Haisnes" in out
    assert JournalEntry.objects.get().action == "domain.create"
    with pytest.raises(CommandError, match="Aucune commune n’a l’identifiant « douvrin »"):
        run("add_commune", "douvrin", "--existing", "--host", "douvrin.fr")


# --- create_staff ----------------------------------------------------------


def printed_link(out: str) -> str:
    return next(line for line in out.splitlines() if "/compte/password/reset/key/" in line)


@pytest.mark.django_db(transaction=True)
def test_create_staff_creates_an_administrator_and_prints_the_password_link(commune):
    out = run("create_staff", "haisnes", "--email", "Secretariat@Haisnes.fr", "--first-name", "Camille",
              "--last-name", "Martin")
    user = User.objects.get(email="secretariat@haisnes.fr")
    assert (user.first_name, user.last_name) == ("Camille", "Martin")
    assert not user.has_usable_password()
    membership = Membership.objects.get(user=user)
    assert (membership.organisation, membership.role) == (commune, Membership.Role.ADMINISTRATOR)
    entry = JournalEntry.objects.get(action="membership.create")
    assert (entry.actor_id, entry.actor_label, entry.organisation_id) == (None, SYSTEM_LABEL, commune.pk)
    # The same link is printed and e-mailed (HTTPS is off in tests).
    link = printed_link(out)
    assert link.startswith("http://testserver/compte/password/reset/key/")
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["secretariat@haisnes.fr"]
    assert link in mail.outbox[0].body
    assert "Compte créé : secretariat@haisnes.fr, administrateur de Haisnes." in out
    assert "Un courriel d’invitation a été envoyé" in out


@pytest.mark.django_db(transaction=True)
def test_the_printed_link_sets_the_password_once(commune, client):
    out = run("create_staff", "haisnes", "--email", "camille@haisnes.fr")
    path = urlsplit(printed_link(out)).path
    response = client.get(path, follow=True)
    assert response.status_code == 200
    form_path = response.redirect_chain[-1][0] if response.redirect_chain else path
    response = client.post(form_path, {"password1": STAFF_PASSWORD, "password2": STAFF_PASSWORD})
    assert response.status_code == 302
    user = User.objects.get(email="camille@haisnes.fr")
    assert user.check_password(STAFF_PASSWORD)
    # Used once: the token no longer matches the account.
    client.logout()
    response = client.get(path, follow=True)
    assert b"password1" not in response.content


@pytest.mark.django_db(transaction=True)
def test_create_staff_prints_the_link_when_the_mail_cannot_be_sent(commune):
    with mock.patch("beffroi.core.services.staff.send_mail", side_effect=ConnectionRefusedError("refusé")):
        out = run("create_staff", "haisnes", "--email", "camille@haisnes.fr", "--role", "editor")
    assert Membership.objects.get(user__email="camille@haisnes.fr").role == Membership.Role.EDITOR
    assert "Le courriel d’invitation n’a pas pu être envoyé (refusé)" in out
    assert printed_link(out)


def test_create_staff_uses_https_and_the_primary_host_name(commune, settings):
    settings.HTTPS = True
    Domain.objects.filter(organisation=commune).update(is_primary=False)
    Domain.objects.filter(hostname="127.0.0.1").update(is_primary=True)
    out = run("create_staff", "haisnes", "--email", "camille@haisnes.fr")
    assert printed_link(out).startswith("https://127.0.0.1/compte/password/reset/key/")
    out = run("create_staff", "haisnes", "--email", "dominique@haisnes.fr", "--base-url", "https://mairie.example/")
    assert printed_link(out).startswith("https://mairie.example/compte/password/reset/key/")


def test_create_staff_attaches_an_existing_account_to_another_commune(commune, other_commune, administrator):
    out = run("create_staff", "douvrin", "--email", administrator.email, "--role", "agent")
    assert Membership.objects.get(user=administrator, organisation=other_commune).role == Membership.Role.AGENT
    assert f"Compte existant rattaché : {administrator.email}, agent de Douvrin." in out
    assert User.objects.filter(email=administrator.email).count() == 1


def test_create_staff_refuses_a_person_already_in_the_team(commune, administrator):
    with pytest.raises(CommandError, match="fait déjà partie de l’équipe"):
        run("create_staff", "haisnes", "--email", administrator.email)
    assert Membership.objects.filter(user=administrator).count() == 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["douvrin", "--email", "a@b.fr"], "Aucune organisation n’a l’identifiant « douvrin »"),
        (["haisnes", "--email", "pas-une-adresse"], "Adresse électronique invalide"),
    ],
)
def test_create_staff_refuses_bad_input(commune, args, message):
    with pytest.raises(CommandError, match=message):
        run("create_staff", *args)
    assert not Membership.objects.exists()


def test_create_staff_needs_a_base_url_without_host_name(db):
    Organisation.objects.create(kind=Organisation.Kind.CCAS, name="CCAS de Haisnes", slug="ccas-haisnes")
    with pytest.raises(CommandError, match="--base-url"):
        run("create_staff", "ccas-haisnes", "--email", "a@b.fr")
    assert not User.objects.exists()
