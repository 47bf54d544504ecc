import pytest

from beffroi.core.models import Organisation, Sector, Service
from beffroi.reports.models import Category, ReportSettings, RoutingRule

SQUARE = {"type": "Polygon", "coordinates": [[[2.78, 50.49], [2.82, 50.49], [2.82, 50.52], [2.78, 50.52], [2.78, 50.49]]]}
CENTRE = {"type": "Polygon", "coordinates": [[[2.79, 50.50], [2.80, 50.50], [2.80, 50.51], [2.79, 50.51], [2.79, 50.50]]]}
INSIDE = (50.505, 2.795)  # lat, lon in the centre sector


@pytest.fixture
def agglomeration(db):
    return Organisation.objects.create(kind=Organisation.Kind.AGGLOMERATION, name="Agglo", slug="agglo")


@pytest.fixture
def territory(commune, agglomeration):
    """A commune with an outline, a sector, two services, categories on two
    levels (its own and the agglomeration's), and routing rules."""
    commune.parent = agglomeration
    commune.area = SQUARE
    commune.save()
    centre = Sector.objects.create(organisation=commune, name="Centre", slug="centre", area=CENTRE)
    technical = Service.objects.create(organisation=commune, name="Services techniques", slug="tech", email="tech@example.org")
    reception = Service.objects.create(organisation=commune, name="Accueil", slug="accueil")
    waste_service = Service.objects.create(organisation=agglomeration, name="Collecte", slug="collecte")
    roads = Category.objects.create(organisation=commune, name="Voirie", slug="voirie")
    pothole = Category.objects.create(organisation=commune, name="Nid-de-poule", slug="nid", parent=roads, deadline_days=3)
    graffiti = Category.objects.create(organisation=commune, name="Tag", slug="tag", parent=Category.objects.create(
        organisation=commune, name="Propreté", slug="proprete"))
    waste = Category.objects.create(organisation=agglomeration, name="Déchets", slug="dechets")
    bin_category = Category.objects.create(organisation=agglomeration, name="Bac cassé", slug="bac", parent=waste)
    ReportSettings.objects.create(organisation=commune, triage_service=reception, office_hours={str(d): [["00:00", "23:59"]] for d in range(7)})
    ReportSettings.objects.create(organisation=agglomeration, triage_service=waste_service)
    RoutingRule.objects.create(organisation=commune, name="Voirie", category=roads, target_organisation=commune, target_service=technical)
    RoutingRule.objects.create(organisation=agglomeration, name="Déchets", category=waste, target_organisation=agglomeration,
                               target_service=waste_service)
    return {
        "commune": commune, "agglomeration": agglomeration, "centre": centre, "technical": technical,
        "reception": reception, "waste_service": waste_service, "pothole": pothole, "graffiti": graffiti,
        "bin": bin_category,
    }
