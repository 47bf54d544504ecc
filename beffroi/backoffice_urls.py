"""The back office (/gestion/): every page needs login, a second factor and a role."""

from django.urls import path

from beffroi.core.forms import SectorForm, ServiceForm
from beffroi.core.models import Sector, Service
from beffroi.core.views import backoffice as core_views
from beffroi.core.views.crud import SettingsCrud
from beffroi.info.forms import ScreenForm, TopicForm
from beffroi.info.models import Screen, Topic
from beffroi.info.views import backoffice as info_views

app_name = "backoffice"

CRUDS = [
    SettingsCrud(Topic, TopicForm, "themes", "Thèmes", "un thème", [("name", "Nom"), ("slug", "Identifiant")]),
    SettingsCrud(Sector, SectorForm, "quartiers", "Quartiers", "un quartier", [("name", "Nom"), ("slug", "Identifiant")]),
    SettingsCrud(Service, ServiceForm, "services", "Services", "un service", [("name", "Nom"), ("email", "Courriel")]),
    SettingsCrud(
        Screen,
        ScreenForm,
        "panneaux",
        "Panneaux d’information",
        "un panneau",
        [("name", "Nom"), ("slug", "Adresse (/panneau/…)")],
        form_takes_commune=True,
    ),
]

urlpatterns = [
    path("", info_views.dashboard, name="home"),
    path("publications/", info_views.post_list, name="post_list"),
    path("publications/nouvelle/<str:kind>/", info_views.post_create_view, name="post_create"),
    path("publications/<int:pk>/", info_views.post_edit_view, name="post_edit"),
    path("publications/<int:pk>/action/", info_views.post_action_view, name="post_action"),
    path("publications/<int:pk>/supprimer/", info_views.post_delete_view, name="post_delete"),
    path("commune/", core_views.commune_settings, name="commune"),
    path("equipe/", core_views.staff_list, name="staff_list"),
    path("equipe/inviter/", core_views.staff_invite_view, name="staff_invite"),
    path("equipe/<int:pk>/", core_views.membership_edit, name="membership_edit"),
    path("journal/", core_views.journal_view, name="journal"),
]
for crud in CRUDS:
    urlpatterns += crud.urls()
