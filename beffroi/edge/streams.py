"""The streams an anonymous page may follow."""

from beffroi.edge.hosts import commune_for
from beffroi.realtime import channels


async def public_feed(scope):
    commune = await commune_for(scope)
    if commune is None:
        return 404, "Aucune commune n’est servie à cette adresse."
    return (channels.public(commune.pk),)


ROUTES = {
    "/flux/public": public_feed,
}
