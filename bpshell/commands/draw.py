"""`draw NAME`: the computation graph as the book's figure, written to SVG, PNG or DOT."""

from __future__ import annotations

import os

from bpshell.commands.registry import Args, command
from bpshell.errors import FileError
from bpshell.language.grammar import Flag, Number, RestPath, Target

DRAW_MAX_NODES = 400


@command("draw", Target(), Flag("layers", "layers"), Flag("forward", "forward"),
         Number("step", "step", integer=True, minimum=0, meta="K"), RestPath("file", "to"),
         summary="the graph as the book draws it: values above the arrows, gradients below",
         examples=("draw price", "draw loss layers to net.svg", "draw y step 2 to y2.svg"),
         group="gradients", files=True, default_file="{name}.svg",
         notes=("Writes NAME.svg unless 'to FILE' (.svg, .png or .dot) says otherwise; "
                "'to FILE' comes last.",
                "'layers' draws Affine, ReLU, Sigmoid and Softmax-with-Loss as boxes; "
                "'forward' leaves the gradients out; 'step K' shows those known after K "
                "steps of the backward pass, '?' for the rest.",
                "PNG needs the plot extra (pip install -e '.[plot]') or Graphviz's dot."),
         fields={"of": str, "path": str, "note": str, "nodes": int, "edges": int})
def draw(session, args: Args, stmt) -> dict:
    from bpshell.numeric.picture import picture
    from bpshell.render.draw import write_drawing

    ev = session.ev
    if args.forward:
        plan, grads = ev.full_plan(args.name), None
    else:
        plan, grads, _ = ev.gradients(args.name, None, None, stmt.pos)
    pic = picture(plan, grads, plan.graph.named[args.name], layers=args.layers,
                  forward_only=args.forward, steps=args.step, max_nodes=DRAW_MAX_NODES)
    path = os.path.expanduser(args.file or f"{args.name}.svg")
    try:
        written = write_drawing(pic, path)
    except ValueError as e:
        raise FileError(str(e), *stmt.pos) from None
    except FileError as e:
        raise e.at(*stmt.pos) from None
    return {"kind": "draw", "of": args.name, "path": written, "note": pic.note,
            "nodes": len(pic.nodes), "edges": len(pic.edges)}
