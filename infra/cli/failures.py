"""Bad input to the CLI is one clear line on stderr and a non-zero exit, never a traceback.

`run(app)` runs the typer app without click's standalone handling and turns what a user can cause
(usage errors, a bad configuration, a bad value, a missing file) into `error: <one line>` and
exit 2. Anything else is a bug and keeps its traceback; with TRADEWINDS_DEBUG=1 the configuration,
value and file errors keep theirs too (a command's own refusals, `Failure`, stay one line).
"""

from __future__ import annotations

import os
import sys

import click
import typer
import yaml
from pydantic import ValidationError

from shared.errors import ConfigError

try:  # typer >= 0.26 carries its own copy of click: its usage errors are not click's
    from typer._click.exceptions import ClickException as _TyperClickException
except ImportError:  # pragma: no cover - an older typer raises click's own
    _TyperClickException = click.ClickException

CLICK_ERRORS = (click.ClickException, _TyperClickException)
ABORTS = (click.exceptions.Abort, typer.Abort)
USER_ERRORS = (ConfigError, ValueError, OSError, yaml.YAMLError)


class Failure(_TyperClickException):
    """A command's own refusal: printed as one line, exit 2."""

    exit_code = 2


def one_line(exc: BaseException) -> str:
    if isinstance(exc, CLICK_ERRORS):
        text = exc.format_message()
    elif isinstance(exc, ValidationError):
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ())) or exc.title
        more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
        text = f"{exc.title}: {where}: {first['msg']}{more}"
    elif isinstance(exc, FileNotFoundError) and exc.filename:
        text = f"no such file: {exc.filename}"
    else:
        text = str(exc) or type(exc).__name__
    return " ".join(text.split())  # one line, whatever the message held


def fail(message: str) -> None:
    sys.stdout.flush()
    sys.stderr.write(f"error: {one_line(Failure(message))}\n")
    sys.stderr.flush()


def run(app, args: list[str] | None = None) -> int:
    """The exit code of `app` on `args` (default: sys.argv), user errors reported in one line."""
    try:
        code = app(args=args, standalone_mode=False)
    except ABORTS:
        fail("aborted")
        return 130
    except CLICK_ERRORS as exc:
        fail(one_line(exc))
        return exc.exit_code or 2
    except USER_ERRORS as exc:
        if os.environ.get("TRADEWINDS_DEBUG") == "1":
            raise
        fail(one_line(exc))
        return 2
    return code if isinstance(code, int) else 0
