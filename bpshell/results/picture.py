"""What a drawing shows, as plain data: nodes, edges and the raw values on them.

The engine fills these records (bpshell.numeric.picture) and the renderers read them, so
the render side never imports the engine: this module depends on nothing in bpshell.
Values stay raw (floats, NumPy arrays, or expression strings for a symbolic graph); the
renderers decide how they read.
"""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = ("leaf", "const", "op", "layer", "output")


class Pending:
    """The gradient of an edge the backward pass has not reached yet: drawn as `?`.

    A distinct marker, not 0 and not None: None means the edge carries no gradient at all
    (a constant's edge, or a forward-only drawing).
    """

    _instance: Pending | None = None

    def __new__(cls) -> Pending:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "?"


PENDING = Pending()


@dataclass
class PicNode:
    """A leaf (a name on the left), a constant, an op circle, a layer box, or the output.

    label: what identifies the node in text (a leaf's name, a constant's value, an op's
    expression); symbol: what is written in an op's circle or a layer's box (×, +, exp,
    Affine); name: the user's name for an op node, written beside it; grad: the node's total
    gradient, drawn as a sum when the node feeds more than one edge.
    """

    id: int
    kind: str
    label: str
    symbol: str | None = None
    name: str | None = None
    grad: object = None
    members: tuple[int, ...] = ()  # a layer's op nodes in the graph


@dataclass
class PicEdge:
    """An arrow from source to target: the forward value over it, the gradient back along it.

    grad is the gradient this edge carries back to its source (its share when the source
    feeds several edges), PENDING when not known yet, None when the edge has none.
    """

    source: int
    target: int
    value: object
    grad: object = None
    shape: tuple[int, ...] = ()
    slot: int = 0  # which input of the target this edge is
    key: str = ""  # unique id of the edge, "source-target" (with ":slot" if repeated)


@dataclass
class Picture:
    """A whole drawing: nodes in topological order, edges, and a note for the reader."""

    nodes: list[PicNode] = field(default_factory=list)
    edges: list[PicEdge] = field(default_factory=list)
    root: int = -1  # the output node
    title: str = ""
    note: str = ""
    forward_only: bool = False
    steps_total: int = 0  # steps of the backward pass (op nodes that pass a gradient on)

    def node(self, i: int) -> PicNode:
        for n in self.nodes:
            if n.id == i:
                return n
        raise KeyError(i)
