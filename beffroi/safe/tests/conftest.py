import io

import pytest
from PIL import Image

from beffroi.core.models import Membership, Organisation
from beffroi.safe.access import Viewer
from beffroi.safe.services.accounts import safe_open
from conftest import make_staff, sign_in_with_second_factor

PASSWORD = "Coffre-fort-2026!"


def jpeg_bytes(colour=(200, 40, 40), size=(640, 480)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, colour).save(buffer, "JPEG")
    return buffer.getvalue()


def pdf_bytes(marker: str = "TEMOIN-EN-CLAIR") -> bytes:
    body = f"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n% {marker}\n".encode()
    return body + b"x" * 3000 + b"\n%%EOF\n"


@pytest.fixture
def ccas(commune):
    return Organisation.objects.create(kind=Organisation.Kind.CCAS, name="CCAS de Haisnes", slug="ccas", parent=commune)


@pytest.fixture
def association(commune):
    return Organisation.objects.create(kind=Organisation.Kind.ASSOCIATION, name="Secours solidaire", slug="secours")


@pytest.fixture
def beneficiary(commune):
    return safe_open(username="marie.d", password=PASSWORD, first_name="Marie", phone="06 12 34 56 78").owner


@pytest.fixture
def owner_client(client, beneficiary):
    client.force_login(beneficiary)
    return client


@pytest.fixture
def social_worker(ccas):
    return make_staff(ccas, Membership.Role.SOCIAL_WORKER)


@pytest.fixture
def pro_client(client, social_worker):
    return sign_in_with_second_factor(client, social_worker)


def owner_viewer(user) -> Viewer:
    return Viewer(user)
