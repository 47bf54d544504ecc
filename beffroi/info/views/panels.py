"""Information panels: full-screen, rotating, live."""

from django.shortcuts import get_object_or_404, render

from beffroi.edge.marks import shared_page
from beffroi.info.models import Screen
from beffroi.info.panels import panel_content


@shared_page
def panel(request, slug):
    screen = get_object_or_404(Screen.objects.select_related("organisation"), organisation=request.commune, slug=slug)
    return render(request, "info/panel.html", {"screen": screen, "content": panel_content(screen)})
