import pytest
from django.core.exceptions import ValidationError

from beffroi.core.colours import contrast_ratio, validate_brand_colour
from beffroi.core.geo import area_contains, validate_area

SQUARE = {"type": "Polygon", "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]]]}
WITH_HOLE = {
    "type": "Polygon",
    "coordinates": [[[0, 0], [10, 0], [10, 10], [0, 10], [0, 0]], [[4, 4], [6, 4], [6, 6], [4, 6], [4, 4]]],
}


def test_contrast_of_black_on_white_is_21():
    assert round(contrast_ratio("#000000", "#ffffff"), 1) == 21.0


@pytest.mark.parametrize("colour", ["#1d4f91", "#6b2c6e", "#000000"])
def test_dark_brand_colours_are_accepted(colour):
    validate_brand_colour(colour)


@pytest.mark.parametrize(("colour", "message"), [("#ffdd00", "trop claire"), ("bleu", "#RRVVBB"), ("#12345", "#RRVVBB")])
def test_unreadable_or_malformed_colours_are_refused(colour, message):
    with pytest.raises(ValidationError, match=message):
        validate_brand_colour(colour)


def test_points_inside_outside_and_in_a_hole():
    assert area_contains(SQUARE, 5, 5)
    assert not area_contains(SQUARE, 11, 5)
    assert not area_contains(WITH_HOLE, 5, 5)
    assert area_contains(WITH_HOLE, 2, 2)
    assert area_contains({"type": "MultiPolygon", "coordinates": [SQUARE["coordinates"]]}, 1, 1)


@pytest.mark.parametrize(
    ("area", "message"),
    [
        ("pas un objet", "objet GeoJSON"),
        ({"type": "Point", "coordinates": [1, 2]}, "polygone"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, "quatre points"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, "fermé"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [200, 0], [1, 1], [0, 0]]]}, "hors limites"),
        ({"type": "Polygon", "coordinates": [[[0, 0], ["a", 0], [1, 1], [0, 0]]]}, "paire"),
        ({"type": "Polygon"}, "incomplet"),
    ],
)
def test_malformed_areas_are_refused_with_a_french_message(area, message):
    with pytest.raises(ValidationError, match=message):
        validate_area(area)
