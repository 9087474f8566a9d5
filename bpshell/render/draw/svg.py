"""A drawing as SVG, written with xml.etree.ElementTree from the standard library.

No SVG library is needed: the layout gives every position, and ElementTree escapes the
text (an expression with `<` or `&` stays well-formed XML). Each text element carries its
class (forward, grad, node, leaf, name, note) and the edge or node it belongs to, so a
test or a reader's tool can find what a label labels.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET

from bpshell.render.draw.layout import FONT, Layout, Line, layout
from bpshell.results.picture import Picture

SVG_NS = "http://www.w3.org/2000/svg"
FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"
ARROW = 6  # px, length of an arrowhead


def svg_text(pic: Picture) -> str:
    """The whole SVG document for a picture."""
    lay = layout(pic)
    root = ET.Element("svg", {
        "xmlns": SVG_NS, "width": str(lay.width), "height": str(lay.height),
        "viewBox": f"0 0 {lay.width} {lay.height}", "font-family": FONT_FAMILY,
        "font-size": str(FONT),
    })
    ET.SubElement(root, "title").text = f"computation graph of {pic.title}"
    _defs(root)
    ET.SubElement(root, "rect", {"width": "100%", "height": "100%", "fill": "white"})
    _lines(root, lay)
    _shapes(root, lay)
    for t in lay.texts:
        attrs = {"x": _n(t.x), "y": _n(t.y), "class": t.cls, "text-anchor": t.anchor,
                 "font-size": _n(t.size), "fill": t.color, **t.data}
        ET.SubElement(root, "text", attrs).text = t.text
    ET.indent(root)
    return ET.tostring(root, encoding="unicode", xml_declaration=True) + "\n"


def _defs(root: ET.Element) -> None:
    defs = ET.SubElement(root, "defs")
    for color in ("black", "red"):
        marker = ET.SubElement(defs, "marker", {
            "id": f"arrow-{color}", "viewBox": "0 0 10 10", "refX": "10", "refY": "5",
            "markerWidth": str(ARROW), "markerHeight": str(ARROW), "orient": "auto",
            "markerUnits": "userSpaceOnUse"})
        ET.SubElement(marker, "path", {"d": "M0,0 L10,5 L0,10 z", "fill": color})


def _lines(root: ET.Element, lay: Layout) -> None:
    for line in lay.lines:
        ET.SubElement(root, "path", {
            "d": _path(line), "class": line.cls, "fill": "none", "stroke": line.color,
            "stroke-width": "1.4" if line.cls == "edge" else "1.2",
            "marker-end": f"url(#arrow-{line.color})", **line.data})


def _shapes(root: ET.Element, lay: Layout) -> None:
    for s in lay.shapes:
        style = {"fill": "white", "stroke": "black", "stroke-width": "1.4", **s.data}
        if s.kind == "circle":
            ET.SubElement(root, "circle", {"cx": _n(s.x), "cy": _n(s.y), "r": _n(s.w / 2),
                                           "class": "op", **style})
        else:
            ET.SubElement(root, "rect", {"x": _n(s.x), "y": _n(s.y), "width": _n(s.w),
                                         "height": _n(s.h), "rx": "6", "class": "layer",
                                         **style})


def _path(line: Line) -> str:
    (x0, y0), *rest = line.points
    return f"M{_n(x0)},{_n(y0)} " + " ".join(f"L{_n(x)},{_n(y)}" for x, y in rest)


def _n(v: float) -> str:
    """Coordinates to a tenth of a pixel, without a trailing .0."""
    text = f"{v:.1f}"
    return text[:-2] if text.endswith(".0") else text
