"""Typed records the engine produces and the front ends draw: the one seam between them."""
