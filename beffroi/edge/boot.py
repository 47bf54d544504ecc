import django


def build_application(*, freeze_gc: bool = True):
    """Set Django up, then assemble the edge around it (models need the registry)."""
    django.setup()
    from django.conf import settings

    from beffroi.edge.app import EdgeApp, django_app
    from beffroi.realtime.hub import Hub

    return EdgeApp(
        django=django_app(), hub=Hub.from_settings(), page_cache=settings.PAGE_CACHE_ENABLED, freeze_gc=freeze_gc
    )
