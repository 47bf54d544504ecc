"""Serving a document: checked, verified, decrypted as it streams, never cached.

Every chunk is authenticated before it is sent, so a damaged file is never
served altered. Documents up to 64 MiB (nearly all: scans, photos, PDFs) are
also verified whole before the first byte leaves, so that damage gets a
clear page rather than a download cut in the middle; larger ones stream at
once (reading them twice would halve the speed), are cut at the first bad
chunk, and get the clear page once the daily integrity check or a cut
download has marked them.
While a professional's download streams, their link is checked again every
few megabytes: breaking it stops the download.
"""

from urllib.parse import quote

from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import render

from beffroi.safe.access import Viewer, can_see, link_is_active
from beffroi.safe.crypto import TamperedError, decrypt_stream
from beffroi.safe.keys import safe_key
from beffroi.safe.names import clean_name
from beffroi.safe.services.documents import (
    document_name,
    mark_damaged,
    open_stored,
    opened_for_reading,
    thumbnail_bytes,
)
from beffroi.safe.uploads import EXTENSIONS

RECHECK_EVERY = 8  # chunks (8 MiB)
INLINE_TYPES = {"application/pdf", "image/jpeg", "image/png"}


def _private(response) -> HttpResponse:
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    response["Referrer-Policy"] = "no-referrer"
    return response


def _stream(document, doc_key: bytes, link_id: int | None):
    with open_stored(document.storage_name) as source:
        try:
            for index, chunk in enumerate(decrypt_stream(source, key=doc_key, context=document.context())):
                if link_id is not None and index and index % RECHECK_EVERY == 0 and not link_is_active(link_id):
                    return  # the link was broken: the rest is not sent
                yield chunk
        except TamperedError:
            # A large document damaged since its last check: the download is cut here (the error ends the
            # response short of its length); marked, so that the next attempt gets the clear page at once.
            mark_damaged(document)
            raise


def _filename(name: str, content_type: str) -> str:
    # Names stored before invisible characters were refused are cleaned here too.
    name = clean_name(name) or "document"
    extension = EXTENSIONS.get(content_type, "bin")
    return name if name.lower().endswith("." + extension) else f"{name}.{extension}"


def document_response(request, viewer: Viewer, document, *, inline: bool = False):
    if not can_see(viewer, document):
        raise Http404
    action = "document.view" if inline else "document.download"
    try:
        doc_key = opened_for_reading(viewer=viewer, document=document, action=action)
    except PermissionError:
        raise Http404 from None
    except TamperedError:
        return _private(render(request, "safe/tampered.html", {"document": document}, status=409))
    name = document_name(document, safe_key(document.safe))
    response = StreamingHttpResponse(_stream(document, doc_key, None if viewer.is_owner else viewer.link.pk),
                                     content_type=document.content_type)
    response["Content-Length"] = str(document.size)
    disposition = "inline" if inline and document.content_type in INLINE_TYPES else "attachment"
    filename = _filename(name, document.content_type)
    ascii_name = filename.encode("ascii", "replace").decode().replace('"', "").replace("?", "_")
    response["Content-Disposition"] = f"{disposition}; filename=\"{ascii_name}\"; filename*=UTF-8''{quote(filename)}"
    # A document shown in the browser runs nothing and loads nothing.
    response["Content-Security-Policy"] = "sandbox; default-src 'none'; img-src 'self'; style-src 'unsafe-inline'"
    return _private(response)


def thumbnail_response(viewer: Viewer, document):
    if not can_see(viewer, document):
        raise Http404
    data = thumbnail_bytes(document, safe_key(document.safe))
    if data is None:
        raise Http404
    return _private(HttpResponse(data, content_type="image/jpeg"))
