"""The `bpshell` command: a script, `-c`, stdin, or the interactive shell.

Exit status: 0 when every statement succeeded, 1 when one failed, 2 for a usage error,
130 when interrupted. The engine is imported only once a statement is to run, and
prompt_toolkit only for the interactive shell, so `--help` and `--version` are instant
and a piped run pays for NumPy and SymPy and nothing else.
"""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields

from bpshell import __version__
from bpshell.limits import Limits

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130

_LIMIT_HELP = {
    "max_elements": "elements in one array",
    "max_statement_elements": "elements of all the arrays one statement computes",
    "max_exponent": "|exponent| of an exact power",
    "max_nodes": "nodes in one computation graph",
    "max_statement_chars": "characters in one statement",
    "max_depth": "nesting depth of one expression",
    "time_limit": "seconds for one statement in a script (0: none; the shell has none)",
    "simplify_seconds": "seconds for simplify before diff shows the raw form",
}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="bpshell",
        description="A REPL for symbolic and numeric backpropagation: computation graphs, "
                    "local derivatives, forward and backward passes.",
        epilog="Without FILE or -c, bpshell reads statements from stdin when it is not a "
               "terminal, and starts the interactive shell when it is. Exit status: 0 ok, "
               "1 a statement failed, 2 usage error, 130 interrupted.")
    p.add_argument("file", nargs="?", metavar="FILE", help="script to run ('-' for stdin)")
    p.add_argument("-c", dest="command", metavar="STATEMENTS",
                   help="run these statements (separated by ';' or newlines)")
    p.add_argument("-i", dest="interactive", action="store_true",
                   help="after FILE or -c, stay in the interactive shell with its session")
    p.add_argument("--json", action="store_true",
                   help="print each result as one JSON object per line (JSON Lines)")
    p.add_argument("--echo", action="store_true",
                   help="print each statement (>>> x = 2) before its result")
    p.add_argument("--keep-going", action="store_true",
                   help="run on after an error (the exit status is still 1)")
    p.add_argument("--color", choices=("auto", "always", "never"), default=None,
                   help="colours and rich drawing: auto (a terminal, unless NO_COLOR is set), "
                        "always, never")
    p.add_argument("--ascii", action="store_const", const=True, default=None,
                   help="draw with ASCII only (the default follows the locale)")
    p.add_argument("--no-config", action="store_true",
                   help="ignore $XDG_CONFIG_HOME/bpshell/config.toml (see 'set' in the shell)")
    p.add_argument("--version", action="version", version=f"bpshell {__version__}")
    group = p.add_argument_group("limits (each also read from its environment variable)")
    for f in fields(Limits):
        flag = "--" + f.name.replace("_", "-")
        kind = type(f.default)
        default = f"{f.default:,}" if kind is int else f"{f.default:g}"
        group.add_argument(flag, dest=f.name, type=_positive(kind), default=None,
                           metavar="N" if kind is int else "X",
                           help=f"{_LIMIT_HELP.get(f.name, f.name)} "
                                f"(default {default}, {Limits.ENV[f.name]})")
    return p


def _positive(kind):
    def convert(text: str):
        try:
            value = kind(float(text)) if kind is int else kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must not be negative: {text!r}")
        return value

    return convert


def main(argv: list[str] | None = None) -> int:
    """Run bpshell with argv (sys.argv[1:] by default) and return the exit status."""
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
    if args.command is not None and args.file is not None:
        p.print_usage(sys.stderr)
        print("bpshell: error: give a FILE or -c, not both", file=sys.stderr)
        return EXIT_USAGE
    _tolerant_streams()
    try:
        return _dispatch(args, p)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader went away (| head): stop quietly, as other command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FAILED


def _dispatch(args, p: argparse.ArgumentParser) -> int:
    from bpshell.render.out import Output, decide

    source, filename = None, None
    if args.command is not None:
        source, filename = args.command, "<command>"
    elif args.file is not None or not _isatty(sys.stdin):
        path = args.file if args.file is not None else "-"
        filename = "<stdin>" if path == "-" else path
        source = _read(path)
        if isinstance(source, int):
            return source
    interactive = source is None or args.interactive
    if interactive and args.json:
        p.print_usage(sys.stderr)
        print("bpshell: error: --json needs a script (FILE, -c or stdin)", file=sys.stderr)
        return EXIT_USAGE
    from bpshell.session import Session
    from bpshell.settings import SettingsError, load

    try:
        settings = load({**vars(args)}, config=not args.no_config)
    except SettingsError as e:
        print(f"bpshell: error: {e.message}", file=sys.stderr)
        return EXIT_USAGE
    session = Session(limits=settings.limits())
    session.settings = settings
    out = Output(decide(settings["color"], sys.stdout, ascii_only=settings["ascii"]))
    if source is not None:
        from bpshell.runner import pipe_progress, run_source

        session.source_name = filename
        if not args.json and not out.options.terminal:
            session.progress = pipe_progress(out)
        from bpshell.shell.script import script_show

        result = run_source(session, source, out, filename, keep_going=args.keep_going,
                            echo=args.echo, json_out=sys.stdout if args.json else None,
                            show=script_show(session, out))
        status = EXIT_FAILED if result.failed else EXIT_OK
        if result.exit or not args.interactive:
            return status
    from bpshell.shell.repl import interactive as shell

    return shell(session, out)


def _read(path: str) -> str | int:
    """The script's text, or the exit status after saying why it cannot be read."""
    from bpshell.language.source import ScriptError, read_script

    name = "<stdin>" if path == "-" else path
    try:
        return read_script(path)
    except OSError as e:
        print(f"bpshell: cannot read {name}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    except ScriptError as e:
        where = f"{name}:{e.line}:{e.column}" if e.line else name
        print(f"{where}: error: {e.message}", file=sys.stderr)
        if e.text:
            print(f"  {e.text}\n  {' ' * (e.column - 1)}^", file=sys.stderr)
        return EXIT_FAILED


def _isatty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _tolerant_streams() -> None:
    """Characters the terminal's encoding lacks print as '?' instead of failing."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            try:
                reconfigure(errors="replace")
            except (ValueError, OSError):
                pass


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
