"""Documents and folders of a safe: one transaction each, with the safe's journal."""

import base64
import io
import uuid
from contextlib import contextmanager
from datetime import timedelta

import pillow_heif
from django.core.exceptions import ValidationError
from django.core.files.storage import storages
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from PIL import Image, UnidentifiedImageError

from beffroi.safe import antivirus
from beffroi.safe.access import Viewer, can_see
from beffroi.safe.crypto import TamperedError, decrypt_stream, seal, unseal
from beffroi.safe.events import record_event
from beffroi.safe.keys import document_key, safe_key, seal_text, unseal_text
from beffroi.safe.models import Document, Folder, Safe
from beffroi.safe.names import clean_name
from beffroi.safe.quota import quota_bytes
from beffroi.safe.uploads import NO_ROOM, EncryptedUpload

pillow_heif.register_heif_opener()  # thumbnails of phone photos

MAX_NAME = 120
THUMBNAIL_WIDTH = 240
THUMBNAIL_MAX_SOURCE = 40 * 1024 * 1024
VERIFY_FIRST_MAX = 64 * 1024 * 1024  # larger documents stream at once (see downloads.py)
RECHECK_AFTER = timedelta(hours=20)  # a daily job re-checks everything, whatever its drift


def storage():
    return storages["private"]


@contextmanager
def open_stored(name: str):
    """A stored ciphertext, read as a stream. On S3 the object's body is read as
    it arrives: django-storages' S3File would first copy the whole object into
    a temporary file. A missing object is a FileNotFoundError either way."""
    backend = storage()
    if not hasattr(backend, "bucket"):
        with backend.open(name, "rb") as stream:
            yield stream
        return
    from botocore.exceptions import ClientError
    from storages.utils import clean_name

    try:
        # The object's key as S3Storage itself makes it (location prefix, separators).
        body = backend.bucket.Object(backend._normalize_name(clean_name(name))).get()["Body"]
    except ClientError as error:
        raise FileNotFoundError(name) from error
    try:
        yield body
    finally:
        body.close()


def _clean_name(name: str, *, field: str = "name") -> str:
    name = clean_name(name, limit=MAX_NAME)
    if not name:
        raise ValidationError({field: "Donnez un nom."})
    return name


def _safe_folder(safe: Safe, folder_id) -> Folder | None:
    if folder_id in (None, ""):
        return None
    folder = Folder.objects.filter(safe=safe, pk=folder_id).first()
    if folder is None:
        raise ValidationError({"folder": "Ce dossier n’existe pas dans ce coffre."})
    return folder


def _actor_org(viewer: Viewer):
    return viewer.organisation


def _thumbnail(upload: EncryptedUpload, context: bytes) -> bytes | None:
    """A small JPEG of an image, made from the decrypted upload (images up to 40 MB)."""
    if not upload.content_type.startswith("image/") or upload.size > THUMBNAIL_MAX_SOURCE:
        return None
    upload.file.seek(0)
    data = b"".join(decrypt_stream(upload.file, key=upload.key, context=context))
    try:
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((THUMBNAIL_WIDTH, THUMBNAIL_WIDTH * 2))
            out = io.BytesIO()
            image.convert("RGB").save(out, "JPEG", quality=80)
    except (UnidentifiedImageError, OSError, Image.DecompressionBombError):
        return None
    return out.getvalue()


def document_store(*, viewer: Viewer, safe: Safe, upload: EncryptedUpload, name: str = "", folder_id=None,
                   expires_on=None) -> Document:
    """Store an upload already encrypted by EncryptingUploadHandler."""
    if upload.content_type is None:
        raise ValidationError({"fichier": "Type de fichier non accepté : PDF, JPEG, PNG ou HEIC."})
    if not viewer.is_owner and not viewer.link.may_deposit:
        raise ValidationError("Le bénéficiaire n’a pas autorisé votre organisation à déposer des documents.")
    name = _clean_name(name or upload.name, field="name")
    folder = _safe_folder(safe, folder_id)
    document = Document(id=upload.document_id, safe=safe, folder=folder)
    antivirus.check_upload(upload, document.context())
    thumbnail = _thumbnail(upload, document.context())
    storage_name = f"coffre/{uuid.uuid4().hex}"
    upload.file.seek(0)
    # The upload itself, not a File around it: a local storage then moves the
    # temporary file instead of copying it (it is already the ciphertext).
    stored = storage().save(storage_name, upload)
    try:
        with transaction.atomic():
            # The quota, checked and taken in one statement: two uploads at once cannot both pass.
            taken = Safe.objects.filter(pk=safe.pk, used_bytes__lte=quota_bytes(safe) - upload.size).update(
                used_bytes=F("used_bytes") + upload.size
            )
            if not taken:
                raise ValidationError({"fichier": NO_ROOM})
            key = safe_key(safe)
            document.name_sealed = seal_text(key, safe, "document", name)
            document.content_type = upload.content_type
            document.size, document.stored_size, document.sha256 = upload.size, upload.stored_size, upload.sha256
            document.storage_name = stored
            document.wrapped_key = seal(key, base64.b64encode(upload.key).decode(), context=b"key:" + document.context())
            if thumbnail:
                document.thumbnail_sealed = seal(upload.key, base64.b64encode(thumbnail).decode(),
                                                 context=b"thumbnail:" + document.context())
            document.uploaded_by = viewer.user
            document.uploaded_for = viewer.organisation
            document.expires_on = expires_on
            document.save(force_insert=True)
            if not viewer.is_owner:
                # What a professional deposits is shared with their organisation's link.
                document.shares.create(link=viewer.link)
            record_event(safe=safe, key=key, actor=viewer.user, organisation=viewer.organisation,
                         action="document.upload", item=document, label=name)
            if expires_on:
                from beffroi.safe.services.reminders import schedule_expiry_reminders

                schedule_expiry_reminders(document)
    except Exception:
        storage().delete(stored)
        raise
    return document


def document_name(document: Document, key: bytes) -> str:
    return unseal_text(key, document.safe, "document", document.name_sealed)


def thumbnail_bytes(document: Document, key: bytes) -> bytes | None:
    if not document.thumbnail_sealed:
        return None
    doc_key = document_key(key, document)
    return base64.b64decode(unseal(doc_key, bytes(document.thumbnail_sealed), context=b"thumbnail:" + document.context()))


def verify_document(document: Document, doc_key: bytes) -> None:
    """Read the whole ciphertext and check every chunk (raises TamperedError)."""
    with open_stored(document.storage_name) as stream:
        for _chunk in decrypt_stream(stream, key=doc_key, context=document.context()):
            pass


def opened_for_reading(*, viewer: Viewer, document: Document, action: str = "document.download"):
    """Check access, verify the ciphertext (up to VERIFY_FIRST_MAX), journal the read;
    returns the document key."""
    if not can_see(viewer, document):
        raise PermissionError
    key = safe_key(document.safe)
    doc_key = document_key(key, document)
    if document.check_failed_at is not None:
        raise TamperedError()  # found damaged by the integrity check
    if document.size <= VERIFY_FIRST_MAX:
        verify_document(document, doc_key)
    with transaction.atomic():
        record_event(safe=document.safe, key=key, actor=viewer.user, organisation=viewer.organisation, action=action,
                     item=document, label=document_name(document, key))
    return doc_key


@transaction.atomic
def document_rename(*, viewer: Viewer, document: Document, name: str) -> Document:
    _owner_only(viewer)
    key = safe_key(document.safe)
    name = _clean_name(name)
    document.name_sealed = seal_text(key, document.safe, "document", name)
    document.save(update_fields=["name_sealed"])
    record_event(safe=document.safe, key=key, actor=viewer.user, action="document.rename", item=document, label=name)
    return document


@transaction.atomic
def document_move(*, viewer: Viewer, document: Document, folder_id) -> Document:
    _owner_only(viewer)
    document.folder = _safe_folder(document.safe, folder_id)
    document.save(update_fields=["folder"])
    key = safe_key(document.safe)
    record_event(safe=document.safe, key=key, actor=viewer.user, action="document.move", item=document,
                 label=document_name(document, key))
    return document


@transaction.atomic
def document_set_expiry(*, viewer: Viewer, document: Document, expires_on) -> Document:
    from beffroi.safe.services.reminders import schedule_expiry_reminders

    _owner_only(viewer)
    document.expires_on = expires_on
    document.save(update_fields=["expires_on"])
    schedule_expiry_reminders(document)
    key = safe_key(document.safe)
    record_event(safe=document.safe, key=key, actor=viewer.user, action="document.expiry", item=document,
                 label=document_name(document, key))
    return document


def document_delete(*, viewer: Viewer, document: Document) -> None:
    _owner_only(viewer)
    name = document.storage_name
    with transaction.atomic():
        key = safe_key(document.safe)
        label = document_name(document, key)
        Safe.objects.filter(pk=document.safe_id).update(used_bytes=F("used_bytes") - document.size)
        record_event(safe=document.safe, key=key, actor=viewer.user, action="document.delete", label=label)
        document.delete()
        transaction.on_commit(lambda: storage().delete(name))


def _owner_only(viewer: Viewer) -> None:
    if not viewer.is_owner:
        raise PermissionError


@transaction.atomic
def folder_create(*, viewer: Viewer, safe: Safe, name: str, parent_id=None) -> Folder:
    _owner_only(viewer)
    key = safe_key(safe)
    name = _clean_name(name)
    folder = Folder.objects.create(safe=safe, parent=_safe_folder(safe, parent_id),
                                   name_sealed=seal_text(key, safe, "folder", name))
    record_event(safe=safe, key=key, actor=viewer.user, action="folder.create", item=folder, label=name)
    return folder


@transaction.atomic
def folder_rename(*, viewer: Viewer, folder: Folder, name: str) -> Folder:
    _owner_only(viewer)
    key = safe_key(folder.safe)
    name = _clean_name(name)
    folder.name_sealed = seal_text(key, folder.safe, "folder", name)
    folder.save(update_fields=["name_sealed"])
    record_event(safe=folder.safe, key=key, actor=viewer.user, action="folder.rename", item=folder, label=name)
    return folder


@transaction.atomic
def folder_delete(*, viewer: Viewer, folder: Folder) -> None:
    """Only an empty folder is deleted: documents are never removed by surprise."""
    _owner_only(viewer)
    if folder.documents.exists() or folder.children.exists():
        raise ValidationError("Ce dossier n’est pas vide : déplacez ou supprimez d’abord ce qu’il contient.")
    key = safe_key(folder.safe)
    record_event(safe=folder.safe, key=key, actor=viewer.user, action="folder.delete",
                 label=folder_name(folder, key))
    folder.delete()


def folder_name(folder: Folder, key: bytes) -> str:
    return unseal_text(key, folder.safe, "folder", folder.name_sealed)


def mark_damaged(document: Document) -> None:
    """Damage found while reading: the document is refused with the clear page until a check passes."""
    Document.objects.filter(pk=document.pk).update(check_failed_at=timezone.now())


def integrity_check(*, now=None) -> dict:
    """The scheduled re-check: the SHA-256 of each stored original against the
    one kept at upload, for every document not checked within RECHECK_AFTER
    (the daily job so goes over all of them each day). A failure is marked on
    the document (its download then says so at once, whatever its size) and
    cleared by a later check that passes (failed ones are checked at every run)."""
    import hashlib

    now = now or timezone.now()
    checked = failed = 0
    due = Document.objects.filter(
        Q(checked_at__isnull=True) | Q(checked_at__lt=now - RECHECK_AFTER) | Q(check_failed_at__isnull=False)
    )
    for document in due.select_related("safe").order_by(F("checked_at").asc(nulls_first=True)).iterator(chunk_size=100):
        key = safe_key(document.safe)
        digest = hashlib.sha256()
        try:
            with open_stored(document.storage_name) as stream:
                for chunk in decrypt_stream(stream, key=document_key(key, document), context=document.context()):
                    digest.update(chunk)
            ok = digest.hexdigest() == document.sha256
        except (TamperedError, OSError):
            ok = False
        Document.objects.filter(pk=document.pk).update(checked_at=now, check_failed_at=None if ok else now)
        checked += 1
        failed += 0 if ok else 1
    return {"checked": checked, "failed": failed}
