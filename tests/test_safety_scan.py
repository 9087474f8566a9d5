"""A static scan of bpshell/: nothing may turn text into code.

SymPy's sympify and parse_expr end in eval, and lambdify in exec (SymPy issue 10805).
bpshell builds SymPy objects from its own tree, so the rules are simple and strict:

- no call of eval, exec, compile, sympify, parse_expr, S() or __import__, under any
  name or alias, anywhere in bpshell/ (re.compile and similar methods are fine);
- lambdify is called only in bpshell/symbolic/derive.py, on expressions built there;
- no os.system, os.popen, pickle/marshal loading, or subprocess with shell=True.

The scanner is itself tested on small snippets, so that a scan that finds nothing means
there is nothing to find.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "bpshell"
LAMBDIFY_ALLOWED = {"bpshell/symbolic/derive.py"}

FORBIDDEN = {"eval", "exec", "compile", "sympify", "parse_expr", "S", "__import__",
             "parse_latex"}
# modules whose attribute `compile` (or similar) is not Python's compile
SAFE_OWNERS = {"re", "regex", "fnmatch"}
CODE_OWNERS = {"builtins", "sympy", "sp", "sym", "sympy_parser", "parsing", "__builtins__"}
DANGEROUS_ATTRS = {("os", "system"), ("os", "popen"), ("pickle", "loads"), ("pickle", "load"),
                   ("marshal", "loads"), ("marshal", "load"), ("shelve", "open"),
                   ("importlib", "import_module"), ("code", "interact"),
                   ("runpy", "run_path"), ("runpy", "run_module")}


@dataclass(frozen=True)
class Finding:
    path: str
    line: int
    what: str

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.what}"


def _dotted(node: ast.AST) -> list[str]:
    """['sp', 'parsing', 'parse_expr'] for sp.parsing.parse_expr; [] if not a plain chain."""
    parts: list[str] = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        parts.append(node.id)
        return parts[::-1]
    return []


class Scanner(ast.NodeVisitor):
    """Collects every forbidden call, alias and import in one module."""

    def __init__(self, rel: str):
        self.rel = rel
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name -> forbidden name it stands for

    def flag(self, node: ast.AST, what: str) -> None:
        self.findings.append(Finding(self.rel, getattr(node, "lineno", 0), what))

    # -- imports: `from sympy import sympify as s`, `from builtins import eval`
    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        for a in node.names:
            if a.name in FORBIDDEN and module.split(".")[0] not in SAFE_OWNERS:
                self.aliases[a.asname or a.name] = a.name
                self.flag(node, f"imports {a.name} from {module}")
            if a.name == "lambdify":
                self.aliases[a.asname or a.name] = "lambdify"
                if self.rel not in LAMBDIFY_ALLOWED:
                    self.flag(node, f"imports lambdify from {module}")
            if (module, a.name) in DANGEROUS_ATTRS:
                self.flag(node, f"imports {module}.{a.name}")
        self.generic_visit(node)

    # -- `f = eval`, `run = sp.sympify`: aliases made by assignment
    def visit_Assign(self, node: ast.Assign) -> None:
        chain = _dotted(node.value)
        if chain:
            last = chain[-1]
            target = self.aliases.get(chain[0]) if len(chain) == 1 else None
            name = target or (last if last in FORBIDDEN | {"lambdify"} else None)
            if name and not (len(chain) > 1 and chain[0] in SAFE_OWNERS):
                for t in node.targets:
                    if isinstance(t, ast.Name):
                        self.aliases[t.id] = name
                if name != "lambdify" or self.rel not in LAMBDIFY_ALLOWED:
                    self.flag(node, f"aliases {'.'.join(chain)}")
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        chain = _dotted(node.func)
        if chain:
            head, last = chain[0], chain[-1]
            name = self.aliases.get(head, head) if len(chain) == 1 else last
            if len(chain) == 1 and name in FORBIDDEN:
                self.flag(node, f"calls {name}()")
            elif len(chain) > 1 and last in FORBIDDEN and head not in SAFE_OWNERS:
                if last in {"eval", "exec", "compile"}:
                    if head in CODE_OWNERS:
                        self.flag(node, f"calls {'.'.join(chain)}()")
                else:
                    self.flag(node, f"calls {'.'.join(chain)}()")
            if name == "lambdify" and self.rel not in LAMBDIFY_ALLOWED:
                self.flag(node, f"calls lambdify outside {sorted(LAMBDIFY_ALLOWED)}")
            if len(chain) >= 2 and (chain[-2], last) in DANGEROUS_ATTRS:
                self.flag(node, f"calls {'.'.join(chain)}()")
            if head == "subprocess" or last in {"Popen", "run", "call", "check_output"}:
                for kw in node.keywords:
                    if kw.arg == "shell" and not (isinstance(kw.value, ast.Constant)
                                                  and kw.value.value is False):
                        self.flag(node, f"calls {'.'.join(chain)}() with shell=True")
            # getattr(builtins, "eval") and friends
            if name == "getattr" and len(node.args) >= 2:
                attr = node.args[1]
                if isinstance(attr, ast.Constant) and attr.value in FORBIDDEN | {"lambdify"}:
                    self.flag(node, f"getattr(..., {attr.value!r})")
        self.generic_visit(node)


def scan_source(source: str, rel: str) -> list[Finding]:
    scanner = Scanner(rel)
    scanner.visit(ast.parse(source, filename=rel))
    return scanner.findings


def package_files() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def test_package_is_found() -> None:
    files = {p.relative_to(ROOT).as_posix() for p in package_files()}
    assert "bpshell/session.py" in files
    assert "bpshell/language/parser.py" in files
    assert files >= LAMBDIFY_ALLOWED


def test_no_text_becomes_code_anywhere_in_bpshell() -> None:
    findings: list[Finding] = []
    for path in package_files():
        rel = path.relative_to(ROOT).as_posix()
        findings += scan_source(path.read_text(encoding="utf-8"), rel)
    assert [str(f) for f in findings] == []


def test_lambdify_is_used_only_where_expressions_are_built() -> None:
    # derive.py is the one module that turns SymPy expressions into NumPy code; its
    # callers pass expressions built from bpshell's own tree, never text
    uses = []
    for path in package_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _dotted(node.func)[-1:] == ["lambdify"]:
                uses.append(path.relative_to(ROOT).as_posix())
    assert set(uses) <= LAMBDIFY_ALLOWED


def test_lambdify_gets_no_string_expression() -> None:
    # the expression given to lambdify must not be a string literal or an f-string
    derive = PACKAGE / "symbolic" / "derive.py"
    tree = ast.parse(derive.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and _dotted(node.func)[-1:] == ["lambdify"]:
            assert len(node.args) >= 2
            expr = node.args[1]
            assert not isinstance(expr, ast.JoinedStr)
            assert not (isinstance(expr, ast.Constant) and isinstance(expr.value, str))


# ---------------------------------------------------------------- the scanner itself

CAUGHT = [
    "eval(text)",
    "exec(code)",
    "compile(src, 'f', 'exec')",
    "builtins.eval(text)",
    "import sympy as sp\nsp.sympify(text)",
    "import sympy\nsympy.sympify(text)",
    "from sympy import sympify\nsympify(text)",
    "from sympy import sympify as s\ns(text)",
    "from sympy.parsing.sympy_parser import parse_expr\nparse_expr(text)",
    "import sympy as sp\nsp.parsing.sympy_parser.parse_expr(text)",
    "from sympy import S\nS(text)",
    "import sympy as sp\nsp.S(text)",
    "__import__('os')",
    "f = eval\nf(text)",
    "import sympy as sp\nrun = sp.sympify",
    "getattr(builtins, 'eval')(text)",
    "import sympy as sp\nsp.lambdify(x, e)",
    "from sympy import lambdify\nlambdify(x, e)",
    "import os\nos.system(cmd)",
    "import os\nos.popen(cmd)",
    "import pickle\npickle.loads(data)",
    "import subprocess\nsubprocess.run(cmd, shell=True)",
    "import importlib\nimportlib.import_module(name)",
    "from sympy.parsing.latex import parse_latex\nparse_latex(text)",
]

ALLOWED = [
    "import re\nre.compile(r'x')",
    "import sympy as sp\nsp.Symbol(name, real=True)",
    "import sympy as sp\nsp.S.One",
    "x.evalf(40)",
    "import subprocess\nsubprocess.run(['ls'])",
    "pattern.compile",
]


@pytest.mark.parametrize("source", CAUGHT)
def test_scanner_catches(source: str) -> None:
    assert scan_source(source, "bpshell/example.py"), source


@pytest.mark.parametrize("source", ALLOWED)
def test_scanner_allows(source: str) -> None:
    assert scan_source(source, "bpshell/example.py") == [], source


def test_scanner_allows_lambdify_in_derive() -> None:
    source = "import sympy as sp\nsp.lambdify(args, expr, modules='numpy')"
    assert scan_source(source, "bpshell/symbolic/derive.py") == []
