"""Report photos: kept in the private storage (never under MEDIA_URL), served
after the view's access check."""

from django.core.files.storage import storages
from django.http import FileResponse, Http404


def private_storage():
    return storages["private"]


def photo_response(photo, width: int, *, public: bool = False) -> FileResponse:
    widths = sorted(int(w) for w in photo.renditions)
    if width == 0 or not widths:
        name, content_type = photo.image, "image/jpeg"
    else:
        chosen = next((w for w in widths if w >= width), widths[-1])
        name, content_type = photo.renditions[str(chosen)], "image/webp"
    storage = private_storage()
    if not storage.exists(name):
        raise Http404("Photo effacée.")
    response = FileResponse(storage.open(name, "rb"), content_type=content_type)
    response["Content-Disposition"] = "inline"
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "public, max-age=3600" if public else "private, no-store"
    return response
