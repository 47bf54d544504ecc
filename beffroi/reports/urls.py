from django.urls import include, path

from beffroi.reports.views import configuration, console, dashboard, public

app_name = "reports"

urlpatterns = [
    path("signaler/", public.report_form, name="form"),
    path("signaler/proches/", public.nearby, name="nearby"),
    path("signalements/", public.public_list, name="public_list"),
    path("signalements/carte.json", public.public_map_data, name="public_map_data"),
    path("signalements/photo/<int:photo_id>/<int:width>/", public.public_photo, name="public_photo"),
    path("signalements/<str:code>/", public.public_detail, name="public_detail"),
    path("signalements/<str:code>/suivre/", public.follow_existing, name="follow_existing"),
    path("suivi/<str:token>/", public.follow, name="follow"),
    path("suivi/<str:token>/chronologie/", public.follow_timeline, name="follow_timeline"),
    path("suivi/<str:token>/notifications/", public.follow_push, name="follow_push"),
    path("suivi/<str:token>/photo/<int:photo_id>/<int:width>/", public.follow_photo, name="follow_photo"),
    # Agents (under /gestion/: login, second factor and role checked by StaffAccessMiddleware).
    path("gestion/signalements/", console.queue, name="console"),
    path("gestion/signalements/notifications/", console.push_subscription, name="console_push"),
    path("gestion/signalements/carte/", console.map_view, name="console_map"),
    path("gestion/signalements/carte.json", console.map_data, name="console_map_data"),
    path("gestion/signalements/tableau-de-bord/", dashboard.dashboard_view, name="console_dashboard"),
    path("gestion/signalements/export.csv", dashboard.export_csv, name="console_export"),
    # Administrators' settings (before <code>/, which would take their paths).
    path("gestion/signalements/reglages/", configuration.report_settings, name="console_settings"),
    path("gestion/signalements/photo/<int:photo_id>/<int:width>/", console.photo, name="console_photo"),
    path("gestion/signalements/reglages/", include([pattern for crud in configuration.CRUDS for pattern in crud.urls()])),
    path("gestion/signalements/<str:code>/", console.detail, name="console_detail"),
    path("gestion/signalements/<str:code>/etat/<str:action>/", console.transition, name="console_transition"),
    path("gestion/signalements/<str:code>/transfert/", console.transfer, name="console_transfer"),
    path("gestion/signalements/<str:code>/attribution/", console.assign, name="console_assign"),
    path("gestion/signalements/<str:code>/message/", console.message, name="console_message"),
    path("gestion/signalements/<str:code>/photo/", console.agent_photo, name="console_agent_photo"),
    path("gestion/signalements/<str:code>/publication/", console.moderate, name="console_moderate"),
]
