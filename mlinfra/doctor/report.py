"""A doctor check's result and the text/JSON report."""

from __future__ import annotations

from dataclasses import dataclass

OK, PROBLEM, CANNOT = "OK", "PROBLEM", "CANNOT-CHECK"


@dataclass(frozen=True)
class Result:
    check: str
    subject: str
    status: str
    detail: str = ""
    fix: str = ""

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v}


def cannot(check: str, subject: str, status: int, body: dict) -> Result:
    why = body.get("error") if status == 0 else f"HTTP {status}"
    if isinstance(why, dict):
        why = why.get("message") or why.get("code")
    return Result(check, subject, CANNOT, str(why))


def to_text(results: list[Result]) -> str:
    lines = []
    for r in results:
        line = f"{r.status:<12} {r.check}: {r.subject}"
        if r.detail:
            line += f" ({r.detail})"
        if r.fix:
            line += f"; fix: {r.fix}"
        lines.append(line)
    counts = {s: sum(r.status == s for r in results) for s in (OK, PROBLEM, CANNOT)}
    lines.append(f"{counts[OK]} ok, {counts[PROBLEM]} problem(s), {counts[CANNOT]} cannot-check")
    return "\n".join(lines)
