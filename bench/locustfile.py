"""Locust users for bench/load.py (run by it; by hand: see there).

Trainee: logs in through the login form (CSRF cookie and token, as a browser does), then browses what a trainee
looks at — home, 我的学时, the certificate booklet page and the compliance API — with a think time between
clicks. Floor: the same users and think time against /healthz (a bare view doing one trivial query).

The logins and person ids come from the JSON file named by LOAD_USERS ([{"username", "person_id"}, …]); the
password from LOAD_PASSWORD; the think time, in seconds, from LOAD_WAIT_MIN / LOAD_WAIT_MAX.
"""
from __future__ import annotations

import itertools
import json
import os

# `python -m bench` imports every module of the package looking for benchmarks: importing locust there would
# monkey-patch threads (gevent) under Django's connections. Locust itself loads this file as `locustfile`.
if __name__ != "bench.locustfile":
    from locust import HttpUser, between, task

    YEAR = int(os.environ.get("LOAD_YEAR", "2016"))
    _accounts = json.loads(open(os.environ["LOAD_USERS"]).read()) if os.environ.get("LOAD_USERS") else []
    _next = itertools.count()
    _wait = between(float(os.environ.get("LOAD_WAIT_MIN", "1")), float(os.environ.get("LOAD_WAIT_MAX", "2")))

    class Trainee(HttpUser):
        wait_time = _wait

        def on_start(self):
            account = _accounts[next(_next) % len(_accounts)]  # an account per simulated trainee: 50 logins
            self.person_id = account["person_id"]
            self.client.get("/login/", name="/login/ (form)")
            form = {"username": account["username"], "password": os.environ.get("LOAD_PASSWORD", ""),
                    "csrfmiddlewaretoken": self.client.cookies.get("csrftoken", "")}
            with self.client.post("/login/", name="/login/ (submit)", data=form, allow_redirects=False,
                                  catch_response=True, headers={"Referer": f"{self.host}/login/"}) as r:
                if r.status_code != 302:
                    r.failure(f"login of {account['username']} answered {r.status_code}")

        def _page(self, path: str, name: str) -> None:
            # Not following redirects: a lost session (302 to the login page) is a failure, not a page.
            with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"{r.status_code}")

        @task(3)
        def home(self):
            self._page("/", "/ (home)")

        @task(3)
        def my_hours(self):
            self._page(f"/my/hours/{YEAR}/", "/my/hours/<year>/")

        @task(2)
        def booklet(self):
            self._page(f"/certificates/my/{YEAR}/", "/certificates/my/<year>/")

        @task(2)
        def compliance(self):
            self._page(f"/api/v1/people/{self.person_id}/compliance/?year={YEAR}", "/api/v1/people/<id>/compliance/")

    class Floor(HttpUser):
        wait_time = _wait

        @task
        def healthz(self):
            self.client.get("/healthz")
