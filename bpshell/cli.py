"""The `bpshell` command: a script, `-c`, stdin, or the interactive shell.

Exit status: 0 when every statement succeeded, 1 when one failed, 2 for a usage error,
130 when interrupted, 141 when the reader of the output went away. The engine is
imported only once a statement is to run, and prompt_toolkit only for the interactive
shell, so `--help` and `--version` are instant and a piped run pays for NumPy and SymPy
and nothing else.

Whatever the streams and signals, no traceback reaches the user: a closed stdin, stdout
or stderr is opened on /dev/null, a full disk or a reader that went away ends the run
with one line on stderr (none for a pipe whose reader left, as `| head` does), SIGTERM
and SIGHUP roll the running statement back and remove any temporary file before exiting.
"""

from __future__ import annotations

import argparse
import errno
import os
import signal
import sys

from bpshell import __version__
from bpshell.errors import OutputClosed
from bpshell.limits import Limits, SettingError
from bpshell.render.safe import visible, visible_name

EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_INTERRUPTED = 0, 1, 2, 130
EXIT_PIPE = 128 + signal.SIGPIPE  # as a tool killed by SIGPIPE reports it

_LIMIT_HELP = {
    "max_elements": "elements in one array",
    "max_statement_elements": "elements of all the arrays one statement computes",
    "max_exponent": "|exponent| of an exact power",
    "max_nodes": "nodes in one computation graph",
    "max_statement_chars": "characters in one statement",
    "max_depth": "nesting depth of one expression",
    "time_limit": "seconds for one statement in a script (0: none; the shell has none)",
    "simplify_seconds": "seconds for simplify before diff shows the raw form",
    "max_print_elements": "elements of a value printed whole; a summary beyond",
    "history_size": "entries the shell's history keeps",
    "safe": "refuse every statement that reads or writes a file (save, run, export, "
            "load, draw/plot/codegen ... to)",
}


class _Parser(argparse.ArgumentParser):
    """argparse, with its error messages (which quote what was typed) made visible."""

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, f"{self.prog}: error: {visible(message)}\n")


def parser() -> argparse.ArgumentParser:
    p = _Parser(
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
    group = p.add_argument_group("limits (each also read from its environment variable; "
                                 "inf: no bound)")
    defaults = Limits()
    for name in Limits.FIELDS:
        flag = "--" + name.replace("_", "-")
        value = getattr(defaults, name)
        kind = type(value)
        about = f"{_LIMIT_HELP.get(name, name)} ({Limits.ENV.get(name, 'no variable')})"
        if kind is bool:
            p.add_argument(flag, dest=name, action="store_const", const=True, default=None,
                           help=about)
            continue
        default = f"{value:,}" if kind is int else f"{value:g}"
        group.add_argument(flag, dest=name, type=_setting(name), default=None,
                           metavar="N" if kind is int else "X",
                           help=f"{about[:-1]}, default {default})")
    return p


def _setting(name: str):
    def convert(text: str):
        try:
            return Limits.parse(name, text)
        except SettingError as e:
            raise argparse.ArgumentTypeError(str(e)) from None

    return convert


def main(argv: list[str] | None = None) -> int:
    """Run bpshell with argv (sys.argv[1:] by default) and return the exit status."""
    _open_std_streams()
    _tolerant_streams()
    p = parser()
    try:
        args = p.parse_args(argv)
    except SystemExit as e:  # --help, --version, usage errors
        _flush_or_drop()
        return int(e.code or 0) if not isinstance(e.code, str) else EXIT_USAGE
    if args.command is not None and args.file is not None:
        return _usage(p, "give a FILE or -c, not both")
    from bpshell.settings import SettingsError, load

    try:  # flags, the environment and config.toml, each value checked before anything runs
        settings = load({**vars(args)}, config=not args.no_config)
    except SettingsError as e:
        _say(f"bpshell: error: {e.message}")
        return EXIT_USAGE
    _exit_on_signals()
    try:
        return _dispatch(args, p, settings)
    except KeyboardInterrupt:
        _say("interrupted")
        return EXIT_INTERRUPTED
    except OutputClosed as e:
        if e.errno != errno.EPIPE:  # a reader that left (| head) is not worth a word
            _say(f"bpshell: cannot write the output: {e.reason}")
        _drop(sys.stdout)
        return EXIT_PIPE if e.errno == errno.EPIPE else EXIT_FAILED
    finally:
        _flush_or_drop()


def _usage(p: argparse.ArgumentParser, message: str) -> int:
    p.print_usage(sys.stderr)
    _say(f"bpshell: error: {message}")
    return EXIT_USAGE


def _dispatch(args, p: argparse.ArgumentParser, settings) -> int:
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
        return _usage(p, "--json needs a script (FILE, -c or stdin)")
    from bpshell.session import Session

    limits = settings.limits()
    session = Session(limits=limits)
    session.settings = settings
    out = Output(decide(settings["color"], sys.stdout, ascii_only=settings["ascii"],
                        print_limit=limits.max_print_elements))
    if source is not None:
        from bpshell.runner import pipe_progress, run_source

        session.source_name = filename
        if not args.json and not out.options.terminal:
            session.progress = pipe_progress(out)
        from bpshell.shell.script import script_show

        result = run_source(session, source, out, filename, keep_going=args.keep_going,
                            echo=args.echo, json_out=sys.stdout if args.json else None,
                            show=script_show(session, out))
        if result.interrupted:  # a fit stopped by Ctrl-C: the script stops there
            _say("interrupted")
            return EXIT_INTERRUPTED
        status = EXIT_FAILED if result.failed else EXIT_OK
        if result.exit or not args.interactive:
            return status
    from bpshell.shell.repl import interactive as shell

    return shell(session, out)


def _read(path: str) -> str | int:
    """The script's text, or the exit status after saying why it cannot be read."""
    from bpshell.language.source import ScriptError, read_script

    name = "<stdin>" if path == "-" else visible_name(path)
    try:
        return read_script(path)
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in the name
        _say(f"bpshell: cannot read {name}: {getattr(e, 'strerror', None) or e}")
        return EXIT_USAGE
    except ScriptError as e:
        where = f"{name}:{e.line}:{e.column}" if e.line else name
        _say(f"{where}: error: {e.message}")
        if e.text:
            text = visible(e.text)
            caret = visible(e.text[:e.column - 1])
            _say(f"  {text}\n  {''.join(c if c == chr(9) else ' ' for c in caret)}^")
        return EXIT_FAILED


def _isatty(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):
        return False


def _say(message: str) -> None:
    """One message on stderr, control characters shown; a stderr that fails is ignored."""
    try:
        sys.stderr.write(visible(message) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError, AttributeError):
        pass


def _open_std_streams() -> None:
    """Open /dev/null on any of fds 0, 1, 2 that is closed (`bpshell 2>&-`).

    Otherwise Python leaves sys.stderr None (print(file=None) writes to stdout, which
    would break --json), and the next file bpshell opens takes the free number, so that
    anything written to "stderr" would land in a saved file.
    """
    for fd, name, mode in ((0, "stdin", "r"), (1, "stdout", "w"), (2, "stderr", "w")):
        try:
            os.fstat(fd)
            continue
        except OSError:
            pass
        null = os.open(os.devnull, os.O_RDONLY if mode == "r" else os.O_WRONLY)
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
        if getattr(sys, name) is None:
            setattr(sys, name, open(fd, mode, encoding="utf-8", errors="replace",  # noqa: SIM115
                                    closefd=False))


def _drop(stream) -> None:
    """Point stream's fd at /dev/null, so that the flush at exit cannot fail again."""
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, stream.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        pass


def _flush_or_drop() -> None:
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):
            _drop(stream)


def _exit_on_signals() -> None:
    """SIGTERM and SIGHUP end bpshell as an exception would: the running statement is
    rolled back, a `save` in progress removes its temporary file, and the exit status is
    128 + the signal's number."""

    def leave(signum, frame):
        raise SystemExit(128 + signum)

    for sig in (signal.SIGTERM, signal.SIGHUP):
        try:
            if signal.getsignal(sig) == signal.SIG_DFL:
                signal.signal(sig, leave)
        except (ValueError, OSError):  # not the main thread
            pass


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
