import io

import pytest
from PIL import Image

from beffroi.core.models import Membership, Organisation
from beffroi.notify.sms.models import SmsMessage
from beffroi.safe.access import Viewer
from beffroi.safe.services.accounts import safe_open
from beffroi.safe.services.phone import phone_verify
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


def sms_code(purpose: str) -> str:
    """The 6-digit code of the latest SMS queued for ``purpose``, as its recipient reads it."""
    text = SmsMessage.objects.filter(purpose=purpose).latest("created_at").text
    return next(word for word in text.replace(")", " ").split() if word.isdigit() and len(word) == 6)


def verify_phone(safe) -> None:
    """Its owner types the code sent to the number (services/phone.py)."""
    phone_verify(safe=safe, actor=safe.owner, code=sms_code("verify"))
    safe.refresh_from_db()


@pytest.fixture
def beneficiary(commune):
    """A beneficiary who opened their safe alone, and verified their mobile."""
    safe = safe_open(username="marie.d", password=PASSWORD, first_name="Marie", phone="06 12 34 56 78")
    verify_phone(safe)
    return safe.owner


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
