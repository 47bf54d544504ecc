"""GeoJSON areas of sectors: validation and point-in-area tests.

Areas are small (a commune's quartiers), in WGS 84 longitude/latitude, so a
planar ray-casting test is exact enough and needs no GIS stack.
"""

from django.core.exceptions import ValidationError

MAX_VERTICES = 20_000


def _rings(area: dict) -> list[list[list[list[float]]]]:
    """Return the polygons of an area as lists of rings."""
    kind = area.get("type")
    if kind == "Feature":
        return _rings(area.get("geometry") or {})
    if kind == "Polygon":
        return [area["coordinates"]]
    if kind == "MultiPolygon":
        return list(area["coordinates"])
    raise ValidationError("Le périmètre doit être un polygone GeoJSON (Polygon ou MultiPolygon).")


def validate_area(area) -> None:
    if not isinstance(area, dict):
        raise ValidationError("Le périmètre doit être un objet GeoJSON.")
    try:
        polygons = _rings(area)
    except (KeyError, TypeError) as exc:
        raise ValidationError("Le périmètre GeoJSON est incomplet (coordonnées manquantes).") from exc
    vertices = 0
    if not polygons:
        raise ValidationError("Le périmètre ne contient aucun polygone.")
    for polygon in polygons:
        if not isinstance(polygon, list) or not polygon:
            raise ValidationError("Chaque polygone doit contenir au moins un contour.")
        for ring in polygon:
            if not isinstance(ring, list) or len(ring) < 4:
                raise ValidationError("Chaque contour doit avoir au moins quatre points.")
            for point in ring:
                if (
                    not isinstance(point, list)
                    or len(point) < 2
                    or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in point[:2])
                ):
                    raise ValidationError("Chaque point doit être une paire [longitude, latitude].")
                lon, lat = point[0], point[1]
                if not (-180 <= lon <= 180 and -90 <= lat <= 90):
                    raise ValidationError("Coordonnées hors limites : longitude entre -180 et 180, latitude entre -90 et 90.")
            if ring[0][:2] != ring[-1][:2]:
                raise ValidationError("Chaque contour doit être fermé (le dernier point égal au premier).")
            vertices += len(ring)
    if vertices > MAX_VERTICES:
        raise ValidationError(f"Le périmètre est trop détaillé (plus de {MAX_VERTICES} points).")


def _in_ring(lon: float, lat: float, ring) -> bool:
    inside = False
    j = len(ring) - 1
    for i in range(len(ring)):
        xi, yi = ring[i][0], ring[i][1]
        xj, yj = ring[j][0], ring[j][1]
        if (yi > lat) != (yj > lat) and lon < (xj - xi) * (lat - yi) / (yj - yi) + xi:
            inside = not inside
        j = i
    return inside


def area_contains(area: dict, lon: float, lat: float) -> bool:
    """True when the point lies inside the area (outer ring minus holes)."""
    for polygon in _rings(area):
        outer, *holes = polygon
        if _in_ring(lon, lat, outer) and not any(_in_ring(lon, lat, hole) for hole in holes):
            return True
    return False


def area_bounds(area: dict) -> tuple[float, float, float, float]:
    """(min_lon, min_lat, max_lon, max_lat) of an area."""
    points = [p for polygon in _rings(area) for ring in polygon for p in ring]
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return min(lons), min(lats), max(lons), max(lats)
