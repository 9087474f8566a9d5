"""`codegen`: a graph written out as NumPy layer classes (the book's style) or PyTorch code.

bpshell only writes the text; it never runs what it generates.
"""
