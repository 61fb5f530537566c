"""The ``tooflow`` command line.

Each sub-command lives in its own module of this package, which defines
``add_parser(subparsers)``; the parser it adds sets ``func`` to a function
taking the parsed arguments and returning an exit status. Heavy imports stay
inside those functions so that ``tooflow --help`` is fast.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys
from collections.abc import Sequence

__all__ = ["COMMAND_MODULES", "parser", "main"]

#: Modules of this package that contribute sub-commands, in --help order.
COMMAND_MODULES = [
    "db",
    "ingest",
    "events",
    "circular",
    "candidates",
    "drill",
    "server",
    "simulator",
    "listen", "send", "reconcile", "rerun", "health",
    "coincidence",
    "plan", "iers",
    "web", "approve",
]


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("tooflow")
    except PackageNotFoundError:  # pragma: no cover - running from a checkout
        return "unknown"


class _VersionAction(argparse.Action):
    """``--version``: the installed version, read only when asked (importlib.metadata is slow)."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="show program's version number and exit"):
        super().__init__(option_strings=option_strings, dest=dest, default=default, nargs=0,
                         help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        parser._print_message(f"tooflow {_version()}\n", sys.stdout)
        parser.exit()


def parser() -> argparse.ArgumentParser:
    """Build the argument parser with every sub-command."""
    p = argparse.ArgumentParser(
        prog="tooflow",
        description="Target-of-opportunity marshal for multi-messenger astronomy.",
    )
    p.add_argument("--version", action=_VersionAction)
    p.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="show Prefect's log of every task run")
    sub = p.add_subparsers(title="commands", metavar="COMMAND", dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(f"{__name__}.{name}").add_parser(sub)
    _plain_help(p)
    return p


_MARKUP = [(re.compile(r":[a-z]+:`~?([^`]+)`"), r"\1"), (re.compile(r"``([^`]+)``"), r"\1")]


def _plain(text: str | None) -> str | None:
    """Text without reStructuredText markup (``code``, :func:`name`), for --help."""
    if not text:
        return text
    for pattern, repl in _MARKUP:
        text = pattern.sub(repl, text)
    return text


def _plain_help(p: argparse.ArgumentParser) -> None:
    """Strip docstring markup from every description, epilog and option help, recursively."""
    p.description, p.epilog = _plain(p.description), _plain(p.epilog)
    for action in p._actions:
        if action.help and action.help is not argparse.SUPPRESS:
            action.help = _plain(action.help)
        if isinstance(action, argparse._SubParsersAction):
            for choice in action._choices_actions:
                choice.help = _plain(choice.help)
            for sub in action.choices.values():
                _plain_help(sub)


def _prefect_defaults(verbose: bool = False) -> None:
    """Before Prefect is imported: its home under TOOFLOW_HOME, no analytics, quiet console."""
    import os

    from ..config import default_home

    os.environ.setdefault("PREFECT_HOME", str(default_home() / "prefect"))
    try:  # Prefect warns at import when its home cannot be created (no TOOFLOW_HOME yet)
        os.makedirs(os.environ["PREFECT_HOME"], exist_ok=True)
    except OSError:
        pass
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    # Runs log at INFO (the Prefect UI shows every run's lines, tooflow's own
    # included); the terminal shows warnings and errors unless -v.
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "INFO")
    if not verbose:
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "WARNING")


def _quiet_stdout() -> None:
    """The reader of our output left (``tooflow circular X | head``): as a Unix tool, stop quietly.

    stdout goes to /dev/null, so that flushing it at exit does not fail again.
    """
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, sys.stdout.fileno())
    finally:
        os.close(devnull)


def _check_settings(args: argparse.Namespace) -> None:
    """Load the settings once before any command runs: a bad value stops ``tooflow`` here.

    A command's ``--config FILE`` is applied first, so that the file checked is
    the one the command will use. The science programs file it names is read
    too, when there is one: a program's bad strategy (an unknown key, a mode or
    objective not allowed, a negative gap) stops ``tooflow`` here as well, not
    the first flow run that plans for it.

    Raises
    ------
    tooflow.config.ConfigError
        Naming the key, its value and what is allowed.
    ValueError
        A bad science program, naming the program, the key, the value and what
        is allowed; a read-only command (:data:`READ_ONLY_COMMANDS`) prints it
        as a warning and runs.
    """
    import os

    from ..config import load_settings

    config = getattr(args, "config", None)
    if config is not None:
        if not config.is_file():
            raise FileNotFoundError(f"no such configuration file: {config}")
        os.environ["TOOFLOW_CONFIG"] = str(config)
    programs = load_settings().resolved_programs_file
    if programs.is_file():
        from ..programs import load_programs

        try:
            load_programs(programs)
        except ValueError as exc:
            if getattr(args, "command", None) not in READ_ONLY_COMMANDS:
                raise
            # What the person on duty runs to find out what went wrong must still run.
            print(f"tooflow: warning: {exc}", file=sys.stderr)


#: Commands that only read what is stored (or check it): they run with a bad
#: programs file, which they report as a warning, so that the person on duty can
#: still see the notices it failed (``tooflow show``, ``tooflow health``).
READ_ONLY_COMMANDS = frozenset({"events", "show", "circular", "candidate", "health", "db",
                                "server", "iers"})


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``tooflow`` command line; errors print as one line unless ``--debug``.

    The settings are checked first (:func:`_check_settings`). A closed output
    pipe (``| head``) ends the command quietly with status 0.
    """
    args = parser().parse_args(argv)
    _prefect_defaults(verbose=args.verbose)
    from ..guards.text import install_log_redaction, redact

    install_log_redaction()
    try:
        _check_settings(args)
        status = int(args.func(args) or 0)
        sys.stdout.flush()  # here, so that a closed pipe is caught below
        return status
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # noqa: BLE001 - the CLI's last line of defence
        if args.debug:
            raise
        print(f"tooflow: error: {redact(_error_line(exc))}", file=sys.stderr)
        return 1


def _error_line(exc: Exception) -> str:
    """The error as one line: a database failure says which database, why and what to run.

    SQLAlchemy's message spans lines (the SQL, its parameters, a link); the
    user needs the database, the reason and the command to run
    (:func:`tooflow.db.state.explain_database_error`).
    """
    sa_exc = sys.modules.get("sqlalchemy.exc")  # a command that never loaded it raised none
    if sa_exc is None or not isinstance(exc, sa_exc.DBAPIError):
        return str(exc)
    from ..db.state import explain_database_error, one_line

    try:
        from ..db import get_engine

        return str(explain_database_error(exc, get_engine()))
    except Exception:  # noqa: BLE001 - the explanation failed: the driver's own words
        return one_line(str(getattr(exc, "orig", None) or exc))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
