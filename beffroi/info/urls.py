from django.urls import path

from beffroi.edge.marks import shared_page
from beffroi.info import feeds
from beffroi.info.views import open_formats, panels, public

app_name = "info"

urlpatterns = [
    path("", public.home, name="home"),
    path("actualites/", public.news_list, name="news_list"),
    path("actualites/<int:pk>-<slug:slug>/", public.news_detail, name="news_detail"),
    path("agenda/", public.agenda, name="agenda"),
    path("agenda/<int:pk>-<slug:slug>/", public.event_detail, name="event_detail"),
    path("agenda/<int:pk>-<slug:slug>.ics", open_formats.post_ics, name="post_ics"),
    path("travaux/", public.works_list, name="works_list"),
    path("travaux/<int:pk>-<slug:slug>/", public.works_detail, name="works_detail"),
    path("alertes/", public.alerts, name="alerts"),
    path("alertes/<int:pk>-<slug:slug>/", public.alert_detail, name="alert_detail"),
    path("notifications/", public.notifications, name="notifications"),
    path("panneau/<slug:slug>/", panels.panel, name="panel"),
    path("rss.xml", shared_page(feeds.PostsFeed()), name="rss"),
    path("atom.xml", shared_page(feeds.AtomPostsFeed()), name="atom"),
    path("agenda.ics", open_formats.agenda_ics, name="agenda_ics"),
    path("travaux.ics", open_formats.works_ics, name="works_ics"),
]
