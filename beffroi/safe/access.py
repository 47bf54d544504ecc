"""Who may see what in a safe.

The owner sees everything. A professional sees an item only when all of
these hold at the moment of the request: they have an active role that may
open safes (``open_safes``) in an organisation; that organisation has an
active link with the safe; and the item, or a folder that holds it, is
shared with that link. Nothing else opens a safe: not another role, not a
staff account, not another beneficiary.
"""

from dataclasses import dataclass

from django.db.models import Q

from beffroi.core.models import Membership, Organisation
from beffroi.safe.models import Document, Folder, Link, Safe, Share

PERMISSION = "open_safes"


@dataclass(frozen=True)
class Viewer:
    """Who looks at a safe: its owner, or a professional through one link."""

    user: object
    link: Link | None = None  # None: the owner

    @property
    def is_owner(self) -> bool:
        return self.link is None

    @property
    def organisation(self) -> Organisation | None:
        return self.link.organisation if self.link else None

    @property
    def safe(self) -> Safe:
        """The safe looked at: the owner's own, or the link's."""
        return self.link.safe if self.link else self.user.safe


def professional_organisations(user):
    """Organisations where ``user`` may open safes."""
    if not user.is_authenticated:
        return Organisation.objects.none()
    roles = [role for role, permissions in Membership.PERMISSIONS.items() if PERMISSION in permissions]
    ids = Membership.objects.active().filter(user=user, role__in=roles).values("organisation_id")
    return Organisation.objects.filter(pk__in=ids)


def viewer_for(user, safe: Safe, organisation: Organisation | None = None) -> Viewer | None:
    """The owner, or a professional of ``organisation`` through its active link; else None."""
    if not user.is_authenticated:
        return None
    if safe.owner_id == user.pk:
        return Viewer(user)
    if organisation is None or not professional_organisations(user).filter(pk=organisation.pk).exists():
        return None
    link = Link.objects.filter(safe=safe, organisation=organisation, status=Link.Status.ACTIVE).first()
    return Viewer(user, link) if link else None


def _folder_chain(folder: Folder | None) -> list[int]:
    chain = []
    seen = set()
    while folder is not None and folder.pk not in seen:
        seen.add(folder.pk)
        chain.append(folder.pk)
        folder = folder.parent
    return chain


def shared_folder_ids(link: Link) -> set[int]:
    """The folders shared with ``link``, and every folder inside them."""
    roots = set(Share.objects.filter(link=link, folder__isnull=False).values_list("folder_id", flat=True))
    if not roots:
        return set()
    children: dict[int | None, list[int]] = {}
    for pk, parent in Folder.objects.filter(safe_id=link.safe_id).values_list("pk", "parent_id"):
        children.setdefault(parent, []).append(pk)
    found, todo = set(), list(roots)
    while todo:
        pk = todo.pop()
        if pk not in found:
            found.add(pk)
            todo.extend(children.get(pk, []))
    return found


def can_see(viewer: Viewer, item) -> bool:
    """Whether the viewer may see ``item`` (a document, folder, contact, note or appointment)."""
    if viewer.is_owner:
        return item.safe_id == viewer.user.safe.pk
    link = viewer.link
    if item.safe_id != link.safe_id or not Link.objects.filter(pk=link.pk, status=Link.Status.ACTIVE).exists():
        return False
    kind = item._meta.model_name
    if Share.objects.filter(link=link, **{kind: item}).exists():
        return True
    folder = item if isinstance(item, Folder) else getattr(item, "folder", None)
    return bool(folder and set(_folder_chain(folder)) & shared_folder_ids(link))


def visible_documents(viewer: Viewer):
    """The documents the viewer may see, as a queryset."""
    if viewer.is_owner:
        return Document.objects.filter(safe=viewer.user.safe)
    link = viewer.link
    shared = Q(shares__link=link) | Q(folder_id__in=shared_folder_ids(link))
    return Document.objects.filter(shared, safe_id=link.safe_id).distinct()


def visible(viewer: Viewer, model):
    """Contacts, notes or appointments the viewer may see, as a queryset."""
    if viewer.is_owner:
        return model.objects.filter(safe=viewer.user.safe)
    return model.objects.filter(safe_id=viewer.link.safe_id, shares__link=viewer.link).distinct()


def link_is_active(link_id: int) -> bool:
    """Checked again while a download streams: breaking the link stops it."""
    return Link.objects.filter(pk=link_id, status=Link.Status.ACTIVE).exists()
