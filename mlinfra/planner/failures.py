"""How the planner's commands report failures on stderr: a refused config or file, one line per
problem and exit status 2; a program that fails under the mock engine, one line and exit status 1
(`--debug` re-raises for the traceback instead)."""

import logging
import sys
import warnings


def refusal_lines(error: Exception) -> list[str]:
    """The lines of a refusal: a ConfigError's or a file's problems, one per line (each already
    names its file and key), whitespace inside a line collapsed."""
    return [" ".join(line.split()) for line in str(error).splitlines() if line.strip()] or [
        type(error).__name__
    ]


def config_failure(error: Exception, label: str = "") -> int:
    """Print every problem of a refused config (after `label`, e.g. "stack dev: "), one per line,
    and return the exit status 2."""
    for line in refusal_lines(error):
        print(f"error: {label}{line}", file=sys.stderr)
    return 2


def program_failure(error: Exception, label: str = "") -> int:
    """Print the one-line report of `error` (after `label`, e.g. "stack dev: ") and return the
    exit status 1."""
    message = " ".join(str(error).split()) or type(error).__name__
    print(
        f"error: {label}the program failed under the mock engine: {type(error).__name__}: {message} "
        "(run with --debug for the traceback)",
        file=sys.stderr,
    )
    return 1


def quiet_async_leftovers() -> None:
    """Keep the one-line report alone on stderr: a program stopped by a config error leaves the
    SDK's pending outputs unawaited, and Python reports them as it collects them ("coroutine
    'Output.future' was never awaited", RuntimeWarning) and asyncio logs its own notes (pending
    tasks destroyed, slow callbacks in debug mode). None of them is the problem; `--debug` keeps them."""
    warnings.filterwarnings("ignore", message=r"coroutine .* was never awaited", category=RuntimeWarning)
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
