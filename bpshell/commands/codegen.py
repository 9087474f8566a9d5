"""`codegen NAME`: the graph as the book's layer classes in NumPy, or as a PyTorch function.

bpshell only writes the code; it never runs it.
"""

from __future__ import annotations

import os

from bpshell.commands.registry import Args, command
from bpshell.language.grammar import Flag, RestPath, Target
from bpshell.results.fields import TEXT


@command("codegen", Target(doc="the value whose graph becomes code"),
         Flag("torch", "torch", doc="write PyTorch instead of the book's NumPy layers"),
         RestPath("file", "to", doc="write the code to a .py file (bpshell never runs it)"),
         summary="the graph as Python: the book's layer classes in NumPy, or PyTorch",
         examples=("codegen y", "codegen loss torch", "codegen price to price_layers.py"),
         group="symbolic", files=True,
         notes=("Each layer's backward comes from the derived rule in its output form "
                "(Sigmoid keeps self.out, Relu a mask); X @ W + b becomes Affine and "
                "softmax_cross_entropy SoftmaxWithLoss, as the book writes them.",
                "'torch' writes def forward(**leaves) with torch ops, so loss.backward() "
                "gives the gradients.",
                "Unbound names become inputs of forward(); 'to FILE.py' comes last."),
         fields={"of": str, "target": str, "code": str, "path": TEXT})
def codegen(session, args: Args, stmt) -> dict:
    plan = session.ev.full_plan(args.name)
    if args.torch:
        from bpshell.codegen.torch_code import torch_module

        text = torch_module(plan, args.name)
    else:
        from bpshell.codegen.numpy_layers import numpy_module

        text = numpy_module(plan, args.name)
    path = None
    if args.file:
        from bpshell.codegen.common import write_code

        path = write_code(text, os.path.expanduser(args.file))
    return {"kind": "codegen", "of": args.name, "target": "torch" if args.torch else "numpy",
            "code": text, "path": path}
