"""Demo data: Haisnes and its neighbour Douvrin, in their agglomeration.

Sector outlines are illustrative, not the communes' official quartiers.
Everything goes through the services, so the journal shows the demo's history.
"""

import base64
import hashlib
import io
from dataclasses import dataclass
from datetime import timedelta

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal.auth import TOTP
from django.db import transaction
from django.utils import timezone
from PIL import Image, ImageDraw

from beffroi.core.images import sanitize_image
from beffroi.core.models import Domain, Membership, Organisation, Sector, Service, User
from beffroi.info.models import Post, Screen, Topic
from beffroi.info.services import post_create, post_transition

DEMO_PASSWORD = "Haisnes-demo-2026"


def demo_totp_secret(email: str) -> str:
    """A fixed TOTP secret per demo account (base32), so that an authenticator
    app set up once keeps working after the demo is reloaded."""
    return base64.b32encode(hashlib.sha256(f"beffroi-demo:{email}".encode()).digest()[:20]).decode()


TOPICS = [
    ("Vie municipale", "vie-municipale"),
    ("Culture et loisirs", "culture"),
    ("Sport", "sport"),
    ("Enfance et jeunesse", "jeunesse"),
    ("Environnement", "environnement"),
    ("Voirie et travaux", "voirie"),
    ("Solidarité", "solidarite"),
]


def _box(lon: float, lat: float, dlon: float, dlat: float) -> dict:
    ring = [[lon, lat], [lon + dlon, lat], [lon + dlon, lat + dlat], [lon, lat + dlat], [lon, lat]]
    return {"type": "Polygon", "coordinates": [ring]}


@dataclass
class DemoLogin:
    email: str
    role: str
    commune: str
    totp_secret: str
    recovery_code: str


def _demo_image(title: str, colour: str) -> bytes:
    image = Image.new("RGB", (1600, 900), colour)
    draw = ImageDraw.Draw(image)
    for i in range(0, 900, 60):
        draw.rectangle([0, i, 1600, i + 30], fill=tuple(min(255, c + 18) for c in image.getpixel((0, 0))))
    draw.text((80, 400), title, fill="white", font_size=90)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=80)
    return buffer.getvalue()


def _staff(email: str, first: str, last: str, organisation, role: str, service=None) -> DemoLogin:
    user, created = User.objects.get_or_create(
        username=email, defaults={"email": email, "first_name": first, "last_name": last}
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        TOTP.activate(user, demo_totp_secret(email))
        RecoveryCodes.activate(user)
    Membership.objects.get_or_create(user=user, organisation=organisation, defaults={"role": role, "service": service})
    codes = Authenticator.objects.get(user=user, type=Authenticator.Type.RECOVERY_CODES).wrap().get_unused_codes()
    return DemoLogin(email, dict(Membership.Role.choices)[role], organisation.name, demo_totp_secret(email), codes[0])


def _commune(name: str, slug: str, colour: str, hosts: list[str], agglomeration, **contact) -> Organisation:
    commune, _ = Organisation.objects.get_or_create(
        slug=slug,
        defaults={"kind": Organisation.Kind.COMMUNE, "name": name, "brand_colour": colour, "parent": agglomeration, **contact},
    )
    for index, host in enumerate(hosts):
        Domain.objects.get_or_create(hostname=host, defaults={"organisation": commune, "is_primary": index == 0})
    return commune


@transaction.atomic
def load_demo() -> list[DemoLogin]:
    agglomeration, _ = Organisation.objects.get_or_create(
        slug="cabbalr",
        defaults={"kind": Organisation.Kind.AGGLOMERATION, "name": "Communauté d’agglomération Béthune-Bruay, Artois-Lys Romane"},
    )
    haisnes = _commune(
        "Haisnes",
        "haisnes",
        "#1d4f91",
        ["localhost", "127.0.0.1", "haisnes.localhost"],
        agglomeration,
        area=_box(2.780, 50.490, 0.034, 0.032),
        address="Mairie de Haisnes\n62138 Haisnes",
        phone="03 21 00 00 00",
        email="mairie@haisnes.demo",
        opening_hours="Du lundi au vendredi, de 8 h 30 à 12 h et de 13 h 30 à 17 h 30.",
    )
    douvrin = _commune(
        "Douvrin", "douvrin", "#6b2c6e", ["douvrin.localhost"], agglomeration, address="62138 Douvrin",
        area=_box(2.814, 50.490, 0.040, 0.032),
    )
    Domain.objects.get_or_create(hostname="agglo.localhost", defaults={"organisation": agglomeration, "is_primary": True})
    ccas, _ = Organisation.objects.get_or_create(
        slug="ccas-haisnes", defaults={"kind": Organisation.Kind.CCAS, "name": "CCAS de Haisnes", "parent": haisnes}
    )
    Organisation.objects.get_or_create(
        slug="france-services-haisnes",
        defaults={"kind": Organisation.Kind.FRANCE_SERVICES, "name": "Maison France Services de Haisnes", "parent": haisnes},
    )

    services = {}
    for name, slug in [
        ("Services techniques", "services-techniques"),
        ("Accueil et état civil", "accueil"),
        ("Police municipale", "police-municipale"),
        ("Communication", "communication"),
    ]:
        services[slug], _ = Service.objects.get_or_create(organisation=haisnes, slug=slug, defaults={"name": name})
    Service.objects.get_or_create(organisation=douvrin, slug="services-techniques", defaults={"name": "Services techniques"})

    sectors = {}
    for name, slug, area in [
        ("Centre", "centre", _box(2.790, 50.503, 0.012, 0.008)),
        ("Quartier Elie Reumaux", "elie-reumaux", _box(2.802, 50.503, 0.010, 0.008)),
        ("Nord", "nord", _box(2.788, 50.511, 0.024, 0.008)),
        ("Sud", "sud", _box(2.788, 50.495, 0.024, 0.008)),
    ]:
        sectors[slug], _ = Sector.objects.get_or_create(
            organisation=haisnes, slug=slug, defaults={"name": name, "area": area}
        )
    Sector.objects.get_or_create(
        organisation=douvrin, slug="centre", defaults={"name": "Centre", "area": _box(2.826, 50.503, 0.014, 0.009)}
    )

    topics = {}
    for position, (name, slug) in enumerate(TOPICS):
        for commune in (haisnes, douvrin):
            topic, _ = Topic.objects.get_or_create(
                organisation=commune, slug=slug, defaults={"name": name, "position": position}
            )
            if commune == haisnes:
                topics[slug] = topic

    logins = [
        _staff("admin@haisnes.demo", "Claire", "Delattre", haisnes, Membership.Role.ADMINISTRATOR),
        _staff("editeur@haisnes.demo", "Karim", "Benali", haisnes, Membership.Role.EDITOR, services["communication"]),
        _staff("agent@haisnes.demo", "Sophie", "Lefebvre", haisnes, Membership.Role.AGENT, services["services-techniques"]),
        _staff("admin@douvrin.demo", "Marc", "Dupuis", douvrin, Membership.Role.ADMINISTRATOR),
    ]
    Screen.objects.get_or_create(
        organisation=haisnes,
        slug="mairie",
        defaults={"name": "Panneau du hall de la mairie", "kinds": ["news", "event", "works"]},
    )

    agglo_waste, _ = Service.objects.get_or_create(
        organisation=agglomeration, slug="collecte-dechets", defaults={"name": "Collecte des déchets", "email": "dechets@agglo.demo"}
    )
    logins.append(_staff("agent@agglo.demo", "Julien", "Caron", agglomeration, Membership.Role.AGENT, agglo_waste))
    _demo_report_settings(haisnes, agglomeration, services, sectors, agglo_waste)
    logins.append(_staff("social@ccas-haisnes.demo", "Nadia", "Ramdani", ccas, Membership.Role.SOCIAL_WORKER))
    _demo_safe(ccas)

    if not Post.objects.of(haisnes).exists():
        _demo_posts(haisnes, User.objects.get(username="admin@haisnes.demo"), topics, sectors)
    if not Post.objects.of(douvrin).exists():
        _demo_posts_douvrin(douvrin, User.objects.get(username="admin@douvrin.demo"))
    return logins


DEMO_BENEFICIARY = "marie.demo"


def _demo_safe(ccas) -> None:
    """A beneficiary's safe, opened with the CCAS: a folder, a document shared with it, an appointment."""
    from datetime import timedelta

    from beffroi.safe.access import Viewer
    from beffroi.safe.models import Safe
    from beffroi.safe.services.accounts import safe_open
    from beffroi.safe.services.documents import folder_create
    from beffroi.safe.services.links import share_set
    from beffroi.safe.services.records import record_save

    if Safe.objects.filter(owner__username=DEMO_BENEFICIARY).exists():
        return
    social = User.objects.get(username="social@ccas-haisnes.demo")
    safe = safe_open(username=DEMO_BENEFICIARY, password=DEMO_PASSWORD, first_name="Marie", phone="06 12 34 56 78",
                     opened_by=social, organisation=ccas)
    # As if Marie had typed the code sent to her mobile: her reminders go by SMS too.
    Safe.objects.filter(pk=safe.pk).update(phone_verified_at=timezone.now())
    safe.refresh_from_db()
    owner = Viewer(safe.owner)
    folder = folder_create(viewer=owner, safe=safe, name="Logement")
    link = safe.links.get()
    share_set(viewer=owner, link=link, item=folder, shared=True, label="Logement")
    record_save(viewer=owner, safe=safe, kind="appointment", data={"title": "CCAS : demande d’aide au logement",
                "place": "CCAS, place de la mairie"}, starts_at=timezone.now() + timedelta(days=5), reminders=[1440])
    record_save(viewer=owner, safe=safe, kind="contact", data={"name": "Mme Ramdani", "organisation": "CCAS de Haisnes",
                "phone": "03 21 00 00 00"})


def _demo_report_settings(haisnes, agglomeration, services, sectors, agglo_waste) -> None:
    """Report categories, routing and on-call rota; then a few reports."""
    from beffroi.reports.models import Category, OnCallShift, ReportSettings, RoutingRule

    def category(owner, group, slug, name, days):
        parent, _ = Category.objects.get_or_create(organisation=owner, slug=group[0], defaults={"name": group[1]})
        item, _ = Category.objects.get_or_create(
            organisation=owner, slug=slug, defaults={"name": name, "parent": parent, "deadline_days": days}
        )
        return item

    roads = ("voirie", "Voirie et trottoirs")
    lights = ("eclairage", "Éclairage public")
    cleanliness = ("proprete", "Propreté")
    waste = ("dechets", "Déchets ménagers")
    categories = {
        "nid-de-poule": category(haisnes, roads, "nid-de-poule", "Nid-de-poule, chaussée abîmée", 10),
        "trottoir": category(haisnes, roads, "trottoir", "Trottoir dégradé", 15),
        "panneau": category(haisnes, roads, "panneau", "Panneau ou feu endommagé", 3),
        "lampadaire": category(haisnes, lights, "lampadaire", "Lampadaire éteint", 5),
        "depot-sauvage": category(haisnes, cleanliness, "depot-sauvage", "Dépôt sauvage", 3),
        "tag": category(haisnes, cleanliness, "tag", "Tag, graffiti", 10),
        "collecte": category(agglomeration, waste, "collecte-non-effectuee", "Collecte non effectuée", 2),
        "bac": category(agglomeration, waste, "bac-casse", "Bac cassé ou volé", 5),
    }
    _demo_questions(categories)
    settings, _ = ReportSettings.objects.get_or_create(organisation=haisnes)
    settings.triage_service = services["accueil"]
    settings.save()
    ReportSettings.objects.get_or_create(organisation=agglomeration, defaults={"triage_service": agglo_waste})
    technical, police = services["services-techniques"], services["police-municipale"]
    if not RoutingRule.objects.filter(organisation=haisnes).exists():
        rules = [
            ("Urgences hors heures : astreinte technique", None, None, RoutingRule.When.ON_CALL, technical),
            ("Voirie du centre : services techniques", Category.objects.get(organisation=haisnes, slug="voirie"),
             sectors["centre"], RoutingRule.When.ALWAYS, technical),
            ("Voirie : services techniques", Category.objects.get(organisation=haisnes, slug="voirie"), None,
             RoutingRule.When.ALWAYS, technical),
            ("Éclairage : services techniques", Category.objects.get(organisation=haisnes, slug="eclairage"), None,
             RoutingRule.When.ALWAYS, technical),
            ("Dépôts sauvages : police municipale", categories["depot-sauvage"], None, RoutingRule.When.ALWAYS, police),
        ]
        for position, (name, category_, sector, when, service) in enumerate(rules):
            RoutingRule.objects.create(
                organisation=haisnes, name=name, position=position, category=category_, sector=sector, when=when,
                target_organisation=haisnes, target_service=service,
            )
        RoutingRule.objects.create(
            organisation=agglomeration, name="Déchets : collecte", position=0,
            category=Category.objects.get(organisation=agglomeration, slug="dechets"),
            target_organisation=agglomeration, target_service=agglo_waste,
        )
    agent = User.objects.get(username="agent@haisnes.demo")
    start = timezone.localtime().replace(hour=17, minute=30, second=0, microsecond=0)
    if not OnCallShift.objects.filter(service=technical).exists():
        for day in range(-1, 14):
            OnCallShift.objects.create(
                service=technical, agent=agent,
                starts_at=start + timedelta(days=day), ends_at=start + timedelta(days=day, hours=15),
            )
    _demo_reports(haisnes, categories)


def _demo_questions(categories) -> None:
    from beffroi.reports.models import CategoryQuestion

    Kind = CategoryQuestion.Kind
    for key, code, label, kind, options, required, help_text in [
        ("lampadaire", "etat", "Le lampadaire est…", Kind.CHOICE,
         [["eteint", "éteint"], ["clignote", "clignotant"], ["allume-le-jour", "allumé en plein jour"]], True, ""),
        ("lampadaire", "numero", "Numéro inscrit sur le poteau", Kind.STRING, [], False,
         "Une petite plaque porte souvent un numéro : il aide à trouver le bon lampadaire."),
        ("collecte", "bacs", "Quels bacs n’ont pas été vidés ?", Kind.CHOICES,
         [["ordures", "ordures ménagères (couvercle gris)"], ["emballages", "emballages (couvercle jaune)"],
          ["verre", "verre"]], True, ""),
    ]:
        CategoryQuestion.objects.get_or_create(
            category=categories[key], code=code,
            defaults={"label": label, "kind": kind, "options": options, "required": required, "help_text": help_text},
        )


def _demo_reports(haisnes, categories) -> None:
    from beffroi.reports.models import Report
    from beffroi.reports.services.submission import report_submit

    if Report.objects.filter(commune=haisnes).exists():
        return
    for key, description, lat, lon, address, answers in [
        ("nid-de-poule", "Grand trou devant le numéro 12, dangereux pour les vélos.", 50.5071, 2.7962, "12 rue Jean Jaurès",
         {}),
        ("lampadaire", "Le lampadaire ne s’allume plus depuis trois soirs.", 50.5089, 2.8041, "", {"etat": ["eteint"]}),
        ("depot-sauvage", "Sacs et encombrants déposés près du terrain de sport.", 50.4985, 2.7921, "Chemin du stade", {}),
        ("collecte", "La poubelle jaune n’a pas été ramassée mardi.", 50.5102, 2.7993, "Rue de la Paix",
         {"bacs": ["emballages"]}),
    ]:
        report_submit(
            commune=haisnes, category=categories[key], description=description, latitude=lat, longitude=lon,
            address=address, answers=answers,
        )


def _publish(actor, commune, kind, fields, *, sectors=(), image=None):
    post = post_create(actor=actor, commune=commune, kind=kind, fields=fields, sectors=sectors, image=image)
    return post_transition(actor=actor, post=post, action="publish")


def _demo_posts(haisnes, admin, topics, sectors) -> None:
    now = timezone.localtime()
    day = now.replace(hour=0, minute=0, second=0, microsecond=0)
    _publish(
        admin, haisnes, Post.Kind.NEWS,
        {
            "title": "La Maison France Services vous accompagne dans vos démarches",
            "summary": "Place Elie Reumaux, des agents formés vous aident à utiliser un ordinateur ou une tablette "
            "et à faire vos démarches en ligne.",
            "body": "Le **pôle numérique** de la Maison France Services est ouvert à tous.\n\n"
            "- apprendre à utiliser un ordinateur ou une tablette ;\n"
            "- faire une démarche en ligne avec un aidant habilité ;\n"
            "- imprimer ou numériser un document.\n\nSans rendez-vous le matin, sur rendez-vous l’après-midi.",
            "topic": topics["solidarite"],
            "image_alt": "Affiche du pôle numérique de la Maison France Services",
        },
        image=sanitize_image(_demo_image("Pôle numérique", "#1d4f91")),
    )
    _publish(
        admin, haisnes, Post.Kind.NEWS,
        {
            "title": "Les écoles reçoivent un parc informatique neuf",
            "summary": "Grâce au soutien de la Caisse d’allocations familiales, les écoles de la commune sont équipées "
            "de nouveaux ordinateurs.",
            "body": "Une convention signée entre la mairie et la CAF accompagne les familles face à la fracture numérique.",
            "topic": topics["jeunesse"],
        },
    )
    _publish(
        admin, haisnes, Post.Kind.NEWS,
        {
            "title": "Conseil municipal en direct",
            "summary": "Le prochain conseil municipal est retransmis en direct ; l’ordre du jour est affiché en mairie.",
            "topic": topics["vie-municipale"],
        },
    )
    events = [
        ("Marché de Noël", "culture", 5, 14, 6, "Place de la mairie", "Chalets, animations et visite du père Noël."),
        ("Atelier « premiers pas sur tablette »", "solidarite", 2, 14, 2, "Maison France Services", "Gratuit, sur inscription."),
        ("Match de football : Haisnes – Douvrin", "sport", 9, 15, 2, "Stade municipal", "Entrée libre."),
        ("Spectacle de fin d’année des écoles", "jeunesse", 16, 18, 2, "Salle des fêtes", "Ouvert aux familles."),
    ]
    for title, topic, in_days, hour, hours, place, summary in events:
        start = day + timedelta(days=in_days, hours=hour)
        _publish(
            admin, haisnes, Post.Kind.EVENT,
            {"title": title, "summary": summary, "topic": topics[topic], "starts_at": start,
             "ends_at": start + timedelta(hours=hours), "place": place},
        )
    _publish(
        admin, haisnes, Post.Kind.WORKS,
        {
            "title": "Réfection de la chaussée rue Jean Jaurès",
            "summary": "Travaux de voirie : la rue est barrée entre la mairie et l’église, une déviation est mise en place.",
            "topic": topics["voirie"], "starts_at": day - timedelta(days=2, hours=-8),
            "ends_at": day + timedelta(days=12, hours=17), "place": "Rue Jean Jaurès",
            "traffic": Post.Traffic.CLOSED,
        },
        sectors=[sectors["centre"]],
    )
    _publish(
        admin, haisnes, Post.Kind.WORKS,
        {
            "title": "Raccordement au réseau d’eau, quartier Elie Reumaux",
            "summary": "Circulation alternée par feux pendant la durée du chantier.",
            "topic": topics["voirie"], "starts_at": day + timedelta(days=3, hours=8),
            "ends_at": day + timedelta(days=8, hours=17), "place": "Place Elie Reumaux",
            "traffic": Post.Traffic.ALTERNATING,
        },
        sectors=[sectors["elie-reumaux"]],
    )
    _publish(
        admin, haisnes, Post.Kind.ALERT,
        {
            "title": "Vigilance orange vent violent",
            "summary": "Rafales jusqu’à 100 km/h attendues : évitez les déplacements et rentrez les objets exposés au vent.",
            "level": Post.Level.WARNING,
            "expires_at": now + timedelta(days=2),
        },
    )


def _demo_posts_douvrin(douvrin, admin) -> None:
    culture = Topic.objects.get(organisation=douvrin, slug="culture")
    start = timezone.localtime().replace(hour=20, minute=0, second=0, microsecond=0) + timedelta(days=6)
    _publish(
        admin, douvrin, Post.Kind.EVENT,
        {"title": "Concert de l’harmonie municipale", "summary": "Concert gratuit.", "topic": culture,
         "starts_at": start, "ends_at": start + timedelta(hours=2), "place": "Église Saint-Denis"},
    )
    _publish(
        admin, douvrin, Post.Kind.NEWS,
        {"title": "Inscriptions à la cantine", "summary": "Les inscriptions pour janvier sont ouvertes en mairie."},
    )
