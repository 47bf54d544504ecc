from django.apps import AppConfig


class SiteConfig(AppConfig):
    name = "beffroi.site"
    label = "site"
    verbose_name = "Site de la commune"
