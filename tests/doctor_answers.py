"""A doctor client answering from a dict of recorded answers, for the doctor's check tests.

It keeps the read-only rule (mlinfra/doctor/http.py `allowed`) and records every request, so a
test can assert which calls a check made."""

from __future__ import annotations

from mlinfra.doctor.http import Client, Response, WriteRefused, allowed


class Answers(Client):
    """`answers`: URL -> (status, body) or (status, body, headers), or (URL, body-of-POST) -> the
    same. Anything not listed is answered like a missing credential (status 0), as the live client
    does."""

    def __init__(self, answers: dict) -> None:
        super().__init__(replay=None)
        self.answers = answers
        self.asked: list[tuple[str, str, dict | None]] = []

    def request(self, method, url, body=None):
        if not allowed(method, url):
            raise WriteRefused(url)
        self.asked.append((method.upper(), url, body))
        key = (url, tuple(sorted(body.items()))) if body is not None else url
        status, data, *headers = self.answers.get(key, self.answers.get(url, (0, {"error": "no credential"})))
        return Response(status, data, headers[0] if headers else {})


def post_key(url: str, body: dict) -> tuple[str, tuple]:
    return (url, tuple(sorted(body.items())))
