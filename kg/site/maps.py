"""Where the cities are, and how much the graph says about each: the data of the maps on the home page, the
city index and each city's page.

A city's point is read from the graph as GeoSPARQL states it (``?city geo:hasGeometry/geo:asWKT ?wkt``, a
``POINT(lon lat)`` in WGS 84), and its weight on the maps is what one query counts over the release's store:
its memberships (of networks and partnerships, the city as member) and the events it is linked to (held in
it, hosted or organised by it, or with it taking part or visiting). The pages draw the points in the browser
(``kg/web/static/map.js``); without JavaScript they keep their lists and links.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from kg.query.store import GraphStore
from kg.site.catalogue import Catalogue
from kg.site.describe import fallback_label
from kg.site.urls import Urls

GEO = "http://www.opengis.net/ont/geosparql#"
WKT_LITERAL = GEO + "wktLiteral"
#: The CRS a WKT literal without one is in (GeoSPARQL 1.1: longitude, latitude on WGS 84).
CRS84 = "http://www.opengis.net/def/crs/OGC/1.3/CRS84"
#: The same datum with the axes of EPSG:4326: latitude first.
EPSG_4326 = "http://www.opengis.net/def/crs/EPSG/0/4326"

#: Relations of an event to a city that count it as one of the city's events.
EVENT_LINKS = ("ic:location", "ic:host", "ic:organiser", "ic:participant", "ic:visitor")

POINTS_QUERY = f"""\
PREFIX geo: <{GEO}>
SELECT ?city ?wkt (COUNT(DISTINCT ?membership) AS ?memberships) (COUNT(DISTINCT ?event) AS ?events) WHERE {{
  ?city a ic:City ;
        geo:hasGeometry/geo:asWKT ?wkt .
  OPTIONAL {{
    {{ ?membership a ic:Membership ; ic:member ?city }}
    UNION
    {{ ?event a ic:Event ; {"|".join(EVENT_LINKS)} ?city }}
  }}
}}
GROUP BY ?city ?wkt
"""

_WKT_POINT = re.compile(r"^\s*(?:<(?P<crs>[^>]*)>\s*)?POINT\s*\(\s*(?P<x>[-+]?[0-9.eE+-]+)\s+(?P<y>[-+]?[0-9.eE+-]+)\s*\)\s*$",
                        re.IGNORECASE)


def parse_point(wkt: str) -> tuple[float, float] | None:
    """(longitude, latitude) of a WKT ``POINT`` on WGS 84, None for anything else (other geometries, other CRSs,
    coordinates off the globe)."""
    match = _WKT_POINT.match(wkt)
    if not match:
        return None
    try:
        x, y = float(match["x"]), float(match["y"])
    except ValueError:
        return None
    crs = match["crs"] or CRS84
    if crs == EPSG_4326:
        x, y = y, x
    elif crs != CRS84:
        return None
    if not (-180 <= x <= 180 and -90 <= y <= 90):
        return None
    return x, y


@dataclass(frozen=True)
class CityPoint:
    iri: str
    label: str
    lon: float
    lat: float
    memberships: int
    events: int

    @property
    def weight(self) -> int:
        """What the maps size a city's circle by: its memberships plus its events."""
        return self.memberships + self.events


class CityMap:
    """Every city with a point, read once per release (one query, a row per city)."""

    def __init__(self, store: GraphStore, catalogue: Catalogue) -> None:
        points: dict[str, CityPoint] = {}
        rows = sorted(store.query(POINTS_QUERY), key=lambda row: (row["city"].value, row["wkt"].value))
        for row in rows:  # a city with several points: the first valid one in this order is kept
            iri = row["city"].value
            point = parse_point(row["wkt"].value)
            if point is None or iri in points:
                continue
            entry = catalogue.entries.get(iri)
            points[iri] = CityPoint(iri, entry.label if entry else fallback_label(iri), point[0], point[1],
                                    int(row["memberships"].value), int(row["events"].value))
        self.points = sorted(points.values(), key=lambda p: (p.label.casefold(), p.iri))
        self.by_iri = {p.iri: p for p in self.points}
        self.cities = catalogue.class_counts.get(catalogue.base + "def/City", 0)

    def overview(self, urls: Urls) -> dict | None:
        """What the map of every city needs (None when no city has a point)."""
        if not self.points:
            return None
        largest = max(self.points, key=lambda p: p.weight)
        return {"kind": "overview", "points": [self._marker(p, urls) for p in self.points],
                "title": "Map of the cities in the graph",
                "description": f"{len(self.points)} cities on an outline map of the world's countries; each circle is a "
                               f"link to the city's page, sized by its memberships and events.",
                "shown": len(self.points), "cities": max(self.cities, len(self.points)),
                "largest": {"label": largest.label, "memberships": largest.memberships, "events": largest.events}}

    def of(self, iri: str, urls: Urls) -> dict | None:
        """What the small map on one city's page needs (None when the city has no point)."""
        point = self.by_iri.get(iri)
        if point is None:
            return None
        return {"kind": "place", "points": [self._marker(point, urls)], "focus": iri,
                "title": f"Where {point.label} is",
                "description": f"{point.label} on an outline map of the countries around it, at "
                               f"{coordinates(point.lat, point.lon)}.",
                "coordinates": coordinates(point.lat, point.lon)}

    @staticmethod
    def _marker(p: CityPoint, urls: Urls) -> dict:
        return {"iri": p.iri, "label": p.label, "href": urls.resource(p.iri), "lon": p.lon, "lat": p.lat,
                "memberships": p.memberships, "events": p.events, "weight": p.weight}


def coordinates(lat: float, lon: float) -> str:
    """``52.52° N, 13.41° E``."""
    return f"{abs(lat):.2f}° {'N' if lat >= 0 else 'S'}, {abs(lon):.2f}° {'E' if lon >= 0 else 'W'}"
