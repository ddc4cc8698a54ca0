"""How the planner's commands report a program that fails under the mock engine: one line on
stderr and exit status 1 (`--debug` re-raises for the traceback instead)."""

import sys


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
