"""The CLI's exit codes and its one-line errors: every failure a user can cause or meet (a setting, a host that
cannot be reached, a file that cannot be written, Ctrl-C) ends as one line on stderr and a documented exit code;
the traceback only with -v. The README's CLI section lists the same codes."""

from __future__ import annotations

import errno
import logging
import os
import signal
import sys
import traceback
from typing import NoReturn

from core.errors import (
    BackupError,
    ConfigError,
    GraphAuthError,
    GraphError,
    GraphTransportError,
    StorageError,
)
from core.stopping import request_stop, stop_requested

EXIT_OK = 0  # done
EXIT_BUG = 1  # an unexpected error: a defect of this program (run again with -v for the traceback)
EXIT_ERROR = 2  # usage, settings, an unknown run, resource, item or folder, a request that cannot be carried out
EXIT_PARTIAL = 3  # done in part: a partial or skipped backup, a restore with failed items
EXIT_FAILED = 4  # a failed backup run; a verification that found missing or corrupted content
EXIT_UNAVAILABLE = 5  # a service could not be reached or refused: storage, the sign-in authority, Graph
EXIT_INTERRUPTED = 130  # 128 + SIGINT: stopped by Ctrl-C (or SIGTERM); a backup run is recorded as interrupted
EXIT_PIPE_CLOSED = 141  # 128 + SIGPIPE: the reader of the output went away (`| head`); nothing more is printed

EXIT_CODES = {
    EXIT_OK: "done",
    EXIT_BUG: "an unexpected error (a defect: run again with -v and report the traceback)",
    EXIT_ERROR: "usage, settings, or something asked for that is unknown or cannot be done",
    EXIT_PARTIAL: "done in part (a partial or skipped backup, a restore with failed items)",
    EXIT_FAILED: "a failed backup run, or a verification that found damaged content",
    EXIT_UNAVAILABLE: "storage, the sign-in authority or Graph could not be reached or refused",
    EXIT_INTERRUPTED: "interrupted by Ctrl-C or SIGTERM",
    EXIT_PIPE_CLOSED: "the output's reader closed the pipe",
}


def explain(exc: BaseException) -> tuple[int, str]:
    """The exit code and the one line that say what went wrong."""
    if isinstance(exc, GraphAuthError | GraphTransportError):
        return EXIT_UNAVAILABLE, f"error: {type(exc).__name__}: {exc}"
    if isinstance(exc, GraphError | StorageError):
        return EXIT_UNAVAILABLE, f"error: {type(exc).__name__}: {exc}"
    if isinstance(exc, ConfigError):
        return EXIT_ERROR, f"error: {exc}"
    if isinstance(exc, BackupError):
        return EXIT_ERROR, f"error: {type(exc).__name__}: {exc}"
    azure = _azure_error(exc)
    if azure:
        return EXIT_UNAVAILABLE, azure
    if isinstance(exc, OSError) and exc.filename:
        return EXIT_ERROR, f"error: cannot use {exc.filename}: {exc.strerror or exc}"
    if isinstance(exc, OSError):
        return EXIT_UNAVAILABLE, f"error: {type(exc).__name__}: {exc}"
    return EXIT_BUG, f"error: unexpected {type(exc).__name__}: {exc} (run again with -v for the traceback)"


def _azure_error(exc: BaseException) -> str:
    """Azure Storage's own errors (azure-core): a host that cannot be reached, an answer that refuses."""
    try:
        from azure.core.exceptions import AzureError, ServiceRequestError
    except ImportError:  # pragma: no cover - azure-core is a dependency
        return ""
    if isinstance(exc, ServiceRequestError):
        return f"error: storage unreachable: {_first_line(exc)}"
    if isinstance(exc, AzureError):
        return f"error: storage refused: {type(exc).__name__}: {_first_line(exc)}"
    return ""


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:500] if text else type(exc).__name__


class OneLineFormatter(logging.Formatter):
    """A log record with its exception as one line (type and message), not a traceback: for runs without -v."""

    def format(self, record: logging.LogRecord) -> str:
        exc_info, record.exc_info, record.exc_text = record.exc_info, None, None
        try:
            line = super().format(record)
        finally:
            record.exc_info = exc_info
        if exc_info and exc_info[1] is not None:
            line += f": {type(exc_info[1]).__name__}: {_first_line(exc_info[1])}"
        return line


def report(exc: BaseException, verbose: bool) -> int:
    """Print the error's line (after its traceback with -v) and return its exit code."""
    code, line = explain(exc)
    if verbose:
        traceback.print_exception(exc, file=sys.stderr)
    print(line, file=sys.stderr)
    return code


def is_pipe_closed(exc: BaseException) -> bool:
    return isinstance(exc, BrokenPipeError) or (isinstance(exc, OSError) and exc.errno == errno.EPIPE)


def pipe_closed() -> NoReturn:
    """The reader left: point stdout at /dev/null (so the interpreter's final flush does not complain), exit."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os._exit(EXIT_PIPE_CLOSED)


def install_interrupts() -> None:
    """The first SIGINT or SIGTERM asks the work to stop (core/stopping.py) and raises KeyboardInterrupt in the
    main thread; a second one ends the process at once, with exit code 130 and no traceback."""
    signal.signal(signal.SIGINT, _interrupt)
    signal.signal(signal.SIGTERM, _interrupt)


def _interrupt(signum: int, _frame: object) -> None:
    if stop_requested():
        sys.stderr.write(f"\ninterrupted again ({signal.Signals(signum).name}): stopped at once\n")
        sys.stderr.flush()
        os._exit(EXIT_INTERRUPTED)
    request_stop()
    raise KeyboardInterrupt(signal.Signals(signum).name)


def leave(code: int) -> NoReturn:
    """Exit with `code`. After an interrupt, worker threads may still be finishing a request: do not wait for
    them (the interpreter would join them), the run is already recorded."""
    if code == EXIT_INTERRUPTED:
        for stream in (sys.stdout, sys.stderr):
            try:
                stream.flush()
            except OSError:
                pass
        os._exit(code)
    sys.exit(code)
