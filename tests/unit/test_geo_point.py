import math

import pytest
from geoalchemy2.elements import WKTElement
from geoalchemy2.shape import from_shape
from shapely.geometry import Point

from sfa.errors import InvalidInput
from sfa.geo import check_lat_lon, lat_lon, to_geography


@pytest.mark.parametrize(("lat", "lon"), [(90, 180), (-90, -180), (0, 0), (-6.2, 106.8)])
def test_valid_points(lat, lon):
    check_lat_lon(lat, lon)


@pytest.mark.parametrize(
    ("lat", "lon", "needle"),
    [
        (90.000001, 0, "latitude"),
        (-91, 0, "latitude"),
        (0, 180.5, "longitude"),
        (0, -180.000001, "longitude"),
        (math.nan, 0, "finite"),
        (0, math.inf, "finite"),
    ],
)
def test_invalid_points(lat, lon, needle):
    with pytest.raises(InvalidInput, match=needle):
        check_lat_lon(lat, lon)


def test_geography_is_lon_lat_order():
    element = to_geography(-6.25, 106.75)
    assert element.desc == "POINT(106.75 -6.25)" and element.srid == 4326
    assert lat_lon(None) is None


def test_lat_lon_reads_points_made_here_and_points_loaded_alike():
    made = to_geography(-6.25, 106.75)
    loaded = from_shape(Point(106.75, -6.25), srid=4326)  # a WKB element, as from a row
    assert lat_lon(made) == lat_lon(loaded) == (-6.25, 106.75)
    assert lat_lon(WKTElement("POINT(106.75 -6.25)", srid=4326)) == (-6.25, 106.75)
