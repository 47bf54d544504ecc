from beffroi.core.lifecycle import Lifecycle
from beffroi.info.models import Post

S = Post.Status

POST_LIFECYCLE = Lifecycle(
    transitions={
        (S.DRAFT, "publish"): S.PUBLISHED,
        (S.DRAFT, "schedule"): S.SCHEDULED,
        (S.SCHEDULED, "publish"): S.PUBLISHED,
        (S.SCHEDULED, "unschedule"): S.DRAFT,
        (S.PUBLISHED, "withdraw"): S.WITHDRAWN,
        (S.PUBLISHED, "expire"): S.EXPIRED,
        (S.WITHDRAWN, "publish"): S.PUBLISHED,
        (S.WITHDRAWN, "to_draft"): S.DRAFT,
        (S.EXPIRED, "publish"): S.PUBLISHED,
        (S.EXPIRED, "to_draft"): S.DRAFT,
    },
    action_labels={
        "publish": "Publier maintenant",
        "schedule": "Programmer",
        "unschedule": "Annuler la programmation",
        "withdraw": "Retirer",
        "expire": "Faire expirer",
        "to_draft": "Repasser en brouillon",
    },
)
