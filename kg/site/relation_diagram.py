"""How the main classes connect: an inline SVG of the object properties between them, for the ontology page.

The class diagram (kg.site.ontology_docs.class_diagram) shows what is a kind of what, so a reader saw Person,
Post, Role, Membership and StatedCount as unconnected boxes and had to read each property's section to learn
that a post is *held by* a person *in* an organisation *with* a role. This draws those links: the records of the
graph (posts, memberships, stated counts) on the left, the event that attests them above the middle, and what
they are about on the right, each arrow named by its property. Which relations to draw is chosen here (the
ontology declares few ranges, since most properties take several classes); tests/test_ontology_docs.py checks
that every one of them is used so in the data. Text is drawn at 13 px and the SVG is never scaled down, so on
a phone it scrolls sideways rather than shrinking to unreadable type.
"""

from __future__ import annotations

from html import escape

#: (subject class, property, object class), in the order they are drawn.
RELATIONS = (
    ("Post", "heldBy", "Person"), ("Post", "role", "Role"), ("Post", "postIn", "Organisation"),
    ("Post", "attestedAt", "Event"),
    ("Membership", "member", "Person"), ("Membership", "role", "Role"), ("Membership", "organisation", "Organisation"),
    ("Membership", "attestedAt", "Event"),
    ("StatedCount", "countOf", "Organisation"), ("StatedCount", "countOf", "Place"),
    ("Event", "participant", "Person"), ("Event", "organiser", "Organisation"), ("Event", "location", "Place"),
)
#: Column of each class (0: records, 1: the attesting event, above the lines between the others, 2: what they
#: are about) and its row.
PLACES = {"Event": (1, 0.0), "Post": (0, 1.2), "Membership": (0, 2.7), "StatedCount": (0, 4.2),
          "Person": (2, 1.0), "Role": (2, 2.1), "Organisation": (2, 3.2), "Place": (2, 4.3)}

FONT_PX = 13
BOX_W, BOX_H = 124, 28
COLUMN_X = (12, 300, 588)
ROW_PX = 74
TOP = 16
EDGE = "#6b7a90"


def _anchor(name: str, side: str) -> tuple[float, float]:
    column, row = PLACES[name]
    x = COLUMN_X[column] + (BOX_W if side == "right" else 0)
    return x, TOP + row * ROW_PX + BOX_H / 2


def relation_diagram(classes: set[str], properties: set[str]) -> str:
    """The SVG, with the relations whose classes and property the ontology has; empty if none is left."""
    drawn = [r for r in RELATIONS if r[0] in classes and r[2] in classes and r[1] in properties]
    if not drawn:
        return ""
    names = sorted({c for s, _, o in drawn for c in (s, o)}, key=lambda n: (PLACES[n][0], PLACES[n][1]))
    width = COLUMN_X[-1] + BOX_W + 12
    height = int(TOP * 2 + max(PLACES[n][1] for n in names) * ROW_PX + BOX_H)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" class="relation-diagram" viewBox="0 0 {width} {height}" '
             f'width="{width}" height="{height}" role="group" aria-labelledby="relations-title relations-desc" '
             f'font-family="system-ui, -apple-system, Segoe UI, Roboto, Helvetica Neue, Arial, sans-serif" font-size="{FONT_PX}">',
             '<title id="relations-title">How the main classes connect</title>',
             '<desc id="relations-desc">' + escape("; ".join(f"a {s} has {p} a {o}" for s, p, o in drawn)) + '.</desc>',
             f'<defs><marker id="relation-arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
             f'orient="auto-start-reverse"><path d="M0,0L10,5L0,10Z" fill="{EDGE}"/></marker></defs>']
    labels = []
    for subject, prop, obj in drawn:
        (x1, y1), (x2, y2) = _anchor(subject, "right"), _anchor(obj, "left")
        parts.append(f'<path class="edge" d="M{x1},{y1}L{x2},{y2}" stroke="{EDGE}" stroke-width="1.2" fill="none" '
                     f'marker-end="url(#relation-arrow)"/>')
        # the name sits a third of the way along, where edges leaving one box have drawn apart
        lx, ly = x1 + (x2 - x1) * 0.36, y1 + (y2 - y1) * 0.36
        labels.append(f'<a href="#{escape(prop)}" class="relation"><title>{escape(f"{subject} {prop} {obj}")}</title>'
                      f'<text x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle" dominant-baseline="central" fill="#1d2330" '
                      f'stroke="#ffffff" stroke-width="4" paint-order="stroke">{escape(prop)}</text></a>')
    for name in names:
        column, row = PLACES[name]
        x, y = COLUMN_X[column], TOP + row * ROW_PX
        parts.append(f'<a href="#{escape(name)}" class="node"><title>{escape(name)}</title>'
                     f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="4" fill="#e3edf9" stroke="#0b5cad"/>'
                     f'<text x="{x + BOX_W / 2}" y="{y + BOX_H / 2}" text-anchor="middle" dominant-baseline="central" '
                     f'fill="#0b3d75" font-weight="600">{escape(name)}</text></a>')
    return "\n".join(parts + labels + ["</svg>"])
