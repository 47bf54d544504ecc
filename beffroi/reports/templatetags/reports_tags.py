from django import template
from django.conf import settings
from django.utils.html import format_html

from beffroi.core.geo import area_bounds
from beffroi.realtime.bus import channel_head
from beffroi.reports.models import Report
from beffroi.reports.selectors import follow_channels

register = template.Library()

STATUS_LABELS = dict(Report.Status.choices)
DEFAULT_CENTRE = (50.507, 2.797)  # Haisnes, for communes with no outline yet


@register.filter
def status_label(status: str) -> str:
    return STATUS_LABELS.get(status, status)


@register.simple_tag
def report_stream_head(report, author: bool) -> int:
    """The last event of the channels a follow-up page listens to: it follows from there."""
    return max(channel_head(channel) for channel in follow_channels(report.pk, author=author))


@register.simple_tag
def map_attributes(commune):
    """The map's settings, as data attributes its script reads."""
    if commune is not None and commune.area:
        west, south, east, north = area_bounds(commune.area)
        centre = ((south + north) / 2, (west + east) / 2)
    else:
        centre = DEFAULT_CENTRE
    return format_html(
        'data-tiles="{}" data-attribution="{}" data-lat="{}" data-lon="{}"',
        settings.MAP_TILE_URL, settings.MAP_ATTRIBUTION, f"{centre[0]:.6f}", f"{centre[1]:.6f}",
    )
