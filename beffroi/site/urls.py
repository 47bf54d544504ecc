from django.urls import path

from beffroi.site import views

app_name = "site"

urlpatterns = [
    path("manifest.webmanifest", views.manifest, name="manifest"),
    path("sw.js", views.service_worker, name="service_worker"),
    path("icone-<int:size>.png", views.icon, name="icon"),
    path("hors-ligne/", views.offline, name="offline"),
    path("api/", views.api_docs, name="api_docs"),
    path("accessibilite/", views.legal_page, {"template": "accessibility"}, name="accessibility"),
    path("mentions-legales/", views.legal_page, {"template": "legal"}, name="legal"),
    path("donnees-personnelles/", views.legal_page, {"template": "privacy"}, name="privacy"),
    path("plan-du-site/", views.legal_page, {"template": "sitemap"}, name="sitemap"),
]
