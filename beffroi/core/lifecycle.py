"""Status lifecycles as data: a table of allowed transitions, applied in one place."""

from dataclasses import dataclass

from django.core.exceptions import ValidationError


@dataclass(frozen=True)
class Lifecycle:
    """``transitions`` maps (status, action) → new status."""

    transitions: dict[tuple[str, str], str]
    action_labels: dict[str, str]

    def allowed_actions(self, status: str) -> list[str]:
        return [action for (source, action) in self.transitions if source == status]

    def target(self, status: str, action: str, *, status_label: str = "") -> str:
        try:
            return self.transitions[(status, action)]
        except KeyError:
            label = self.action_labels.get(action, action)
            raise ValidationError(
                f"Action impossible : « {label} » n’est pas permis depuis l’état « {status_label or status} »."
            ) from None
