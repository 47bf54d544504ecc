"""Writes of a commune's own settings: topics, sectors, services, panels, identity.

They change what public pages show, so each also tells every web process to
drop its cached pages of the commune.
"""

from django.core.files.base import ContentFile
from django.db import transaction

from beffroi.core import journal
from beffroi.core.tenancy import hosts
from beffroi.realtime import channels
from beffroi.realtime.publish import publish


def _site_changed(organisation) -> None:
    publish(channel=channels.public(organisation.pk), type="site.changed", data={})


@transaction.atomic
def settings_object_save(*, actor, organisation, form):
    """Save a ModelForm whose instance belongs to ``organisation``."""
    creating = form.instance.pk is None
    instance = form.save(commit=False)
    if hasattr(instance, "organisation_id"):
        instance.organisation = organisation
    instance.save()
    form.save_m2m()
    journal.record(
        actor=actor,
        organisation=organisation,
        action=f"{instance._meta.model_name}.{'create' if creating else 'update'}",
        target=instance,
        data={"changed": sorted(form.changed_data)},
    )
    _site_changed(organisation)
    return instance


@transaction.atomic
def settings_object_delete(*, actor, organisation, instance) -> None:
    journal.record(
        actor=actor, organisation=organisation, action=f"{instance._meta.model_name}.delete", target=instance
    )
    instance.delete()
    _site_changed(organisation)


@transaction.atomic
def commune_update(*, actor, commune, fields: dict, coat_of_arms=None):
    """Update a commune's identity; ``coat_of_arms`` is a sanitised image, if any."""
    current = type(commune).objects.select_for_update().get(pk=commune.pk)
    changed = [name for name, value in fields.items() if getattr(current, name) != value]
    for name in changed:
        setattr(current, name, fields[name])
    if coat_of_arms is not None:
        current.coat_of_arms.save("blason.jpg", ContentFile(coat_of_arms.master), save=False)
        changed.append("coat_of_arms")
    current.full_clean()
    current.save()
    journal.record(actor=actor, organisation=current, action="organisation.update", target=current, data={"changed": changed})
    _site_changed(current)
    transaction.on_commit(hosts.clear)  # names and colours cached per host
    return current
