"""Inhabitants file reports: routed at once, followed by a secret link, anonymous."""

import io

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tasks_db.models import DBTaskResult
from PIL import Image

from beffroi.core.models import JournalEntry, Organisation
from beffroi.realtime.models import Event
from beffroi.reports.models import FollowToken, Report, ReportEntry, ReportPhoto
from beffroi.reports.selectors import follow_for_token
from beffroi.reports.services.submission import report_follow, report_submit
from beffroi.reports.tests.conftest import INSIDE
from beffroi.reports.tokens import token_hash


def _photo(fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x010F] = "TelephoneTemoin"
    exif.get_ifd(0x8825).update({1: "N", 2: (50.0, 30.0, 18.0), 3: "E", 4: (2.0, 47.0, 42.0)})
    Image.new("RGB", (800, 600), (120, 80, 40)).save(buffer, fmt, exif=exif.tobytes())
    return buffer.getvalue()


def test_a_report_is_routed_and_announced_at_once(territory):
    submission = report_submit(
        commune=territory["commune"], category=territory["pothole"], description="Trou profond",
        latitude=INSIDE[0], longitude=INSIDE[1],
    )
    report = submission.report
    assert report.service == territory["technical"] and report.sector == territory["centre"]
    assert "Règle « Voirie »" in report.routing_reason
    assert report.due_at is not None and report.status == Report.Status.NEW
    event = Event.objects.get(channel=f"reports:{territory['commune'].pk}")
    assert event.type == "report.new" and event.data["report"]["code"] == report.code
    tasks = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert tasks == {"beffroi.reports.tasks.notify_agents", "beffroi.reports.tasks.escalate_if_unacknowledged"}
    # Inhabitants are anonymous: the timeline records the submission, not the journal.
    assert ReportEntry.objects.get(report=report).kind == ReportEntry.Kind.SUBMITTED
    assert not JournalEntry.objects.exists()


def test_the_follow_link_is_secret_and_stored_hashed(territory):
    submission = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou", address="Rue X")
    assert len(submission.token) >= 32  # 192 bits in base64
    stored = FollowToken.objects.get(report=submission.report)
    assert stored.token_hash == token_hash(submission.token) != submission.token
    follow = follow_for_token(submission.token)
    assert follow.report == submission.report and follow.role == FollowToken.Role.AUTHOR
    altered = submission.token[:-1] + ("y" if submission.token[-1] == "x" else "x")
    assert follow_for_token(altered) is None


def test_agglomeration_categories_go_to_the_agglomeration(territory):
    report = report_submit(commune=territory["commune"], category=territory["bin"], description="Bac cassé", address="Rue Y").report
    assert report.organisation == territory["agglomeration"] and report.service == territory["waste_service"]
    assert Event.objects.filter(channel=f"reports:{territory['agglomeration'].pk}").exists()
    assert not Event.objects.filter(channel=f"reports:{territory['commune'].pk}").exists()


def test_unmatched_reports_go_to_triage(territory):
    report = report_submit(commune=territory["commune"], category=territory["graffiti"], description="Tag", address="Rue Z").report
    assert report.service == territory["reception"]
    assert "service de tri" in report.routing_reason


def test_a_point_outside_the_commune_names_the_competent_one(territory):
    Organisation.objects.create(
        kind=Organisation.Kind.COMMUNE, name="Douvrin", slug="douvrin",
        area={"type": "Polygon", "coordinates": [[[2.82, 50.49], [2.86, 50.49], [2.86, 50.52], [2.82, 50.52], [2.82, 50.49]]]},
    )
    with pytest.raises(ValidationError, match="en dehors de Haisnes.*relève de la commune de Douvrin"):
        report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou", latitude=50.5, longitude=2.84)
    with pytest.raises(ValidationError, match="en dehors de Haisnes\\.'"):
        report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou", latitude=48.85, longitude=2.35)
    assert not Report.objects.exists()


def test_following_an_existing_report_instead_of_filing_it_again(territory):
    first = report_submit(commune=territory["commune"], category=territory["pothole"], description="Trou", address="Rue X")
    token = report_follow(report=first.report)
    follow = follow_for_token(token)
    assert follow.report == first.report and follow.role == FollowToken.Role.FOLLOWER
    first.report.refresh_from_db()
    assert first.report.followers == 2 and Report.objects.count() == 1


def test_the_form_files_a_report_with_photos_stripped_of_metadata(client, territory):
    response = client.post(
        "/signaler/",
        {
            "category": territory["pothole"].pk, "description": "Trou devant l’école",
            "latitude": f"{INSIDE[0]}", "longitude": f"{INSIDE[1]}",
            "photos": [SimpleUploadedFile("a.jpg", _photo(), "image/jpeg"), SimpleUploadedFile("b.jpg", _photo(), "image/jpeg")],
        },
    )
    assert response.status_code == 302 and response["Location"].startswith("/suivi/")
    page = client.get(response["Location"])
    assert page.status_code == 200
    report = Report.objects.get()
    assert report.code in page.content.decode() and "Gardez ce lien" in page.content.decode()
    assert page["Cache-Control"] == "private, no-store" and page["Referrer-Policy"] == "no-referrer"
    assert ReportPhoto.objects.filter(report=report).count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"description": "x", "address": "Rue"}, "Ce champ est obligatoire"),
        ({"category": "999999", "description": "x", "address": "Rue"}, "Sélectionnez un choix valide"),
        ({"category": "abc", "description": "x", "address": "Rue"}, "Sélectionnez un choix valide"),
        ({"description": "Trou"}, "Indiquez le lieu"),
        ({"description": "Trou", "latitude": "95", "longitude": "2.8"}, "inférieure ou égale à 90"),
        ({"description": "x" * 10_000_000, "address": "Rue"}, None),
        ({"description": "<script>alert(1)</script>", "latitude": "48.85", "longitude": "2.35"}, "en dehors de Haisnes"),
    ],
)
def test_bad_input_is_refused_with_a_french_message_and_nothing_stored(client, territory, data, message):
    if "category" not in data and "Ce champ" not in (message or "zz"):
        data = {"category": territory["pothole"].pk, **data}
    response = client.post("/signaler/", data)
    assert 400 <= response.status_code < 500
    if message:
        assert message in response.content.decode()
    assert not Report.objects.exists()


def test_non_images_and_too_many_photos_are_refused(client, territory):
    base = {"category": territory["pothole"].pk, "description": "Trou", "address": "Rue"}
    response = client.post("/signaler/", {**base, "photos": [SimpleUploadedFile("x.jpg", b"%PDF-1.4", "image/jpeg")]})
    assert response.status_code == 400 and "pas une image lisible" in response.content.decode()
    photos = [SimpleUploadedFile(f"{i}.jpg", _photo(), "image/jpeg") for i in range(4)]
    response = client.post("/signaler/", {**base, "photos": photos})
    assert response.status_code == 400 and "3 photo(s) au plus" in response.content.decode()
    assert not Report.objects.exists() and not ReportPhoto.objects.exists()
