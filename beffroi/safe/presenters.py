"""What the safe's pages show, decrypted for the one who may see it."""

from beffroi.safe.models import Folder, Link, Share
from beffroi.safe.quota import is_limited, quota_bytes
from beffroi.safe.services.documents import document_name, folder_name

MB = 1024 * 1024


def _size(size: int) -> str:
    if size < 1024:
        return f"{size} o"
    if size < MB:
        return f"{size / 1024:.0f} Ko"
    return f"{size / MB:.1f} Mo".replace(".", ",")


def folder_tree(safe, key) -> list[tuple[int, str]]:
    """(id, "Parent › Enfant") for every folder, sorted by path."""
    folders = {f.pk: f for f in Folder.objects.filter(safe=safe)}
    names = {pk: folder_name(f, key) for pk, f in folders.items()}

    def path(folder, seen=()):
        if folder.parent_id in folders and folder.parent_id not in seen:
            return f"{path(folders[folder.parent_id], (*seen, folder.pk))} › {names[folder.pk]}"
        return names[folder.pk]

    return sorted(((pk, path(f)) for pk, f in folders.items()), key=lambda pair: pair[1].lower())


def document_rows(documents, key) -> list[dict]:
    return [
        {"document": d, "name": document_name(d, key), "size": _size(d.size), "is_image": d.content_type.startswith("image/"),
         "has_thumbnail": bool(d.thumbnail_sealed)}
        for d in documents
    ]


def documents_listing(safe, key, folder) -> dict:
    documents = safe.documents.filter(folder=folder).select_related("safe")
    subfolders = [(f, folder_name(f, key)) for f in Folder.objects.filter(safe=safe, parent=folder).select_related("safe")]
    used, quota = safe.used_bytes, quota_bytes(safe)
    return {
        "limited": is_limited(safe),
        "full_quota": _size(safe.quota_bytes),
        "rows": sorted(document_rows(documents, key), key=lambda row: row["name"].lower()),
        "subfolders": sorted(subfolders, key=lambda pair: pair[1].lower()),
        "breadcrumb": _breadcrumb(folder, key),
        "used": _size(used),
        "quota": _size(quota),
        "used_percent": min(100, round(100 * used / quota)) if quota else 100,
    }


def _breadcrumb(folder, key) -> list[tuple[int, str]]:
    crumbs, seen = [], set()
    while folder is not None and folder.pk not in seen:
        seen.add(folder.pk)
        crumbs.append((folder.pk, folder_name(folder, key)))
        folder = folder.parent
    return list(reversed(crumbs))


def link_rows(safe, item) -> list[dict]:
    """Each active link, and whether ``item`` is shared with it (directly or by a folder)."""
    kind = item._meta.model_name
    rows = []
    for link in Link.objects.filter(safe=safe, status=Link.Status.ACTIVE).select_related("organisation"):
        direct = Share.objects.filter(link=link, **{kind: item}).exists()
        rows.append({"link": link, "shared": direct})
    return rows
