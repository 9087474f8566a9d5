"""`draw NAME`: the computation graph as the book's figure, written to SVG, PNG or DOT."""

from __future__ import annotations

import os

from bpshell.commands.registry import Args, command
from bpshell.errors import FileError
from bpshell.language.grammar import Flag, Number, RestPath, Target

DRAW_MAX_NODES = 400


@command("draw", Target(doc="the value whose graph is drawn"),
         Flag("layers", "layers", doc="collapse a net into Affine, ReLU, Sigmoid and "
              "Softmax-with-Loss boxes"),
         Flag("forward", "forward", doc="the forward pass only: no gradients"),
         Number("step", "step", integer=True, minimum=0, meta="K",
                doc="the backward pass after K nodes, as in the book's step-by-step figures"),
         Flag("steps", "steps", doc="one picture per step of the backward pass: NAME-0.svg, "
              "NAME-1.svg, ..."),
         RestPath("file", "to", doc="the file to write: .svg, .png or .dot (last on the line)"),
         summary="the graph as the book draws it: values above the arrows, gradients below",
         examples=("draw price forward", "draw loss layers to net.svg",
                   "draw price steps to apple.svg"),
         group="gradients", files=True, default_file="{name}.svg",
         notes=("Writes NAME.svg unless 'to FILE' (.svg, .png or .dot) says otherwise; "
                "'to FILE' comes last.",
                "'layers' draws Affine, ReLU, Sigmoid and Softmax-with-Loss as boxes; "
                "'forward' leaves the gradients out; 'step K' shows those known after K "
                "steps of the backward pass, '?' for the rest; 'steps' writes one picture "
                "per step (NAME-0.svg, NAME-1.svg, ...), the book's figures walked through.",
                "PNG needs the plot extra (pip install -e '.[plot]') or Graphviz's dot."),
         fields={"of": str, "path": str, "paths": list, "note": str, "nodes": int,
                 "edges": int})
def draw(session, args: Args, stmt) -> dict:
    from bpshell.numeric.picture import picture

    ev = session.ev
    if args.forward:
        plan, grads = ev.full_plan(args.name), None
    else:
        plan, grads, _ = ev.gradients(args.name, None, None, stmt.pos)
    path = os.path.expanduser(args.file or f"{args.name}.svg")
    if args.steps and grads is not None:
        return _each_step(args, plan, grads, path, stmt)
    pic = picture(plan, grads, plan.graph.named[args.name], layers=args.layers,
                  forward_only=args.forward, steps=args.step, max_nodes=DRAW_MAX_NODES)
    written = _write(pic, path, stmt)
    return {"kind": "draw", "of": args.name, "path": written, "paths": [written],
            "note": pic.note, "nodes": len(pic.nodes), "edges": len(pic.edges)}


def _each_step(args: Args, plan, grads, path: str, stmt) -> dict:
    """One picture per step of the backward pass, from none known to all."""
    from bpshell.numeric.picture import picture

    root = plan.graph.named[args.name]
    base, ext = os.path.splitext(path)
    first = picture(plan, grads, root, layers=args.layers, steps=0,
                    max_nodes=DRAW_MAX_NODES)
    pictures = [first] + [picture(plan, grads, root, layers=args.layers, steps=k,
                                  max_nodes=DRAW_MAX_NODES)
                          for k in range(1, first.steps_total + 1)]
    written: list[str] = []
    try:
        for k, pic in enumerate(pictures):
            written.append(_write(pic, f"{base}-{k}{ext}", stmt))
    except BaseException:
        for done in written:  # all the pictures or none of them
            os.unlink(done)
        raise
    return {"kind": "draw", "of": args.name, "path": written[-1], "paths": written,
            "note": f"{len(written)} pictures: the backward pass after 0 to "
                    f"{first.steps_total} steps", "nodes": len(first.nodes),
            "edges": len(first.edges)}


def _write(pic, path: str, stmt) -> str:
    from bpshell.render.draw import write_drawing

    try:
        return write_drawing(pic, path)
    except ValueError as e:
        raise FileError(str(e), *stmt.pos) from None
