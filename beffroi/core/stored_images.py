"""Writing a sanitised image (and its renditions) to a storage."""

import uuid
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from django.core.files.storage import Storage, default_storage

from beffroi.core.images import CleanImage


@dataclass
class StoredImage:
    name: str
    renditions: dict[str, str]
    width: int
    height: int
    storage: Storage = field(default=default_storage, repr=False)

    def delete(self) -> None:
        for name in [self.name, *self.renditions.values()]:
            self.storage.delete(name)


def store_image(image: CleanImage, *, folder: str, storage: Storage = default_storage) -> StoredImage:
    """Under a random folder name: the uploaded file's name is never kept."""
    base = f"{folder}/{uuid.uuid4().hex}"
    name = storage.save(f"{base}/image.jpg", ContentFile(image.master))
    renditions = {
        str(width): storage.save(f"{base}/{width}.webp", ContentFile(data)) for width, data in image.renditions.items()
    }
    return StoredImage(name=name, renditions=renditions, width=image.width, height=image.height, storage=storage)
