"""Security checks on the production-like stack (`make test-security`, run by .ci/run through
.ci/security): gunicorn with two workers and a Celery worker, PostgreSQL as the app's own
roles, Redis as broker and cache; everything is done from outside, over HTTP, as a browser or
an attacker would.

1. Credentials never in a log. People set up their accounts from the e-mailed link, reset a
   password, answer a pulse, and use an API key; afterwards every credential handed out
   (set-up and password tokens, answering tokens, the API key, session cookies, passwords) is
   looked for in every log the stack wrote, and every address in gunicorn's access log is
   requested again by a fresh client: none may open an account or a pulse.
2. A link works once: the set-up and password links, opened a second time by another client
   after their owner opened them, open nothing.
3. Nobody can be locked out (gunicorn behind one trusted proxy hop, as the README recommends):
   outsiders at five addresses guess an HR person's password forty times, some writing the
   owner's address into X-Forwarded-For; the owner then signs in at once from their own
   address, and so does a browser that signed in before from a guesser's address; the guessers
   are refused without a password check, told how long to wait.
4. Spraying is bounded: one guess per account, from a dozen addresses, past the site's budget;
   then an address that already failed is refused on any account, while a person signing in
   from their own address gets in.
5. The web's database role cannot lift its scope: connected as it (as anyone holding its
   password would be), with the cross-organisation switch on, it reads no tenant row, no
   person, no session; it cannot replace the function that decides who may span, turn
   row-level security off, or become the jobs' role. The jobs' role, with the switch, can.
6. The API's rate limit counts requests that come at once: 1.5 times the rate, 32 at a time
   with one key, lets exactly the rate through.

Prints what it checked; exits non-zero on the first thing that does not hold.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wellbeing.settings")
django.setup()
sys.path.insert(0, str(Path(__file__).parent))

from stack import BASE_URL, Browser, answer, fail, links, messages, pulse_open, step, text, wait  # noqa: E402

from surveys.core.tenancy import across_organizations, organization_scope  # noqa: E402
from surveys.models import ApiKey, Membership, Role, Team, User  # noqa: E402
from surveys.services.accounts import account_invitations_queue  # noqa: E402

WORK = Path(os.environ["SMOKE_LOG_DIR"])
PORT = int(BASE_URL.rsplit(":", 1)[1])
BIN = Path(sys.executable).parent
WEB_URL = os.environ["DATABASE_WEB_URL"]
PASSWORD = "a long and unusual passphrase 42"


@dataclass
class Credentials:
    """Everything handed out during the journeys that opens something."""

    secrets: dict[str, str] = field(default_factory=dict)

    def add(self, what: str, value: str) -> None:
        self.secrets[f"{what} #{len(self.secrets)}"] = value


class Stack:
    def __init__(self) -> None:
        self.processes: list[subprocess.Popen] = []

    def start(self, name: str, *command: str, env: dict[str, str] | None = None) -> None:
        log = open(WORK / f"{name}.log", "ab")  # noqa: SIM115 (closed with the process)
        environment = {**os.environ, **(env or {})}
        self.processes.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=environment))

    def up(self) -> None:
        web = {"DATABASE_URL": WEB_URL}
        self.start(
            "gunicorn",
            str(BIN / "gunicorn"),
            "wellbeing.wsgi:application",
            "--bind",
            f"127.0.0.1:{PORT}",
            "--workers",
            "2",
            "--access-logfile",
            str(WORK / "gunicorn-access.log"),
            "--error-logfile",
            str(WORK / "gunicorn-error.log"),
            env=web,
        )
        self.start("worker", str(BIN / "celery"), "-A", "wellbeing", "worker", "--loglevel", "info", "-c", "2")
        wait("gunicorn answers", lambda: Browser().get("/accounts/login/")[0] == 200, timeout=60)
        wait("the worker is ready", lambda: "ready." in (WORK / "worker.log").read_text(errors="replace"))

    def down(self) -> None:
        for process in self.processes:
            process.terminate()
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


def mail_links(address: str, pattern: str) -> list[str]:
    found = []
    for message in messages():
        if address in str(message["To"]):
            found += re.findall(re.escape(BASE_URL) + pattern, text(message))
    return found


def person_with_password(email: str, name: str) -> User:
    """A person with a password from the start, as an operator's command makes one: only the
    jobs' role may write such a row, spanning organisations (the web's role never can)."""
    with across_organizations():
        return User.objects.create_user(email, PASSWORD, name=name)


def account_journeys(credentials: Credentials) -> None:
    """A roster-imported manager sets up their account; an HR person resets their password."""
    pulse = pulse_open(team_sizes=[5], name="Security Ltd")
    organization = pulse.organization
    with organization_scope(organization):
        team = Team.objects.get(path="Crew")
        hr_user = person_with_password(f"hr@{organization.slug}.example", "Hana HR")
        Membership.objects.create(user=hr_user, role=Role.HR, team=team)
        account_invitations_queue(Membership.objects.filter(role=Role.MANAGER).select_related("user"))
    lead = pulse.lead_emails[0]
    setup = wait("the worker e-mails the set-up link", lambda: mail_links(lead, r"/accounts/activate/\S+/"))[0]
    credentials.add("set-up token", setup.rstrip("/").rsplit("/", 1)[1])
    owner = Browser()
    status, url, page = owner.get(setup)
    if not url.endswith("/accounts/activate/new/") or "Set up your account" not in page:
        fail(f"the set-up link did not open the form: {status} {url}")
    if "was used" not in Browser().get(setup)[2]:
        fail("a set-up link opened by its owner opened again for another client")
    status, url, page = owner.post("/accounts/activate/new/", {"new_password1": PASSWORD, "new_password2": PASSWORD})
    if url.rstrip("/") != BASE_URL and "/o/" not in url:
        fail(f"setting the password did not sign the manager in: {status} {url}")
    credentials.secrets.update({f"session cookie of the manager #{i}": c for i, c in enumerate(owner.cookies())})
    step("a roster-imported manager set up their account from the e-mailed link; the link then opened nothing")

    hr = Browser()
    hr.post("/accounts/password/reset/", {"email": hr_user.email})
    reset = wait("the password e-mail", lambda: mail_links(hr_user.email, r"/accounts/password/reset/[\w-]+/[\w-]+/"))
    credentials.add("password token", reset[0].rstrip("/").rsplit("/", 1)[1])
    status, url, page = hr.get(reset[0])
    if not url.endswith("/accounts/password/reset/new/"):
        fail(f"the password link did not open the form: {status} {url}")
    if "was used" not in Browser().get(reset[0])[2]:
        fail("a password link opened by its owner opened again for another client")
    new = PASSWORD + " renewed"
    hr.post("/accounts/password/reset/new/", {"new_password1": new, "new_password2": new})
    signed_in = Browser()
    status, url, _ = signed_in.post("/accounts/login/", {"username": hr_user.email, "password": new})
    if "/accounts/login/" in url:
        fail("the HR person could not sign in with the password they chose")
    credentials.secrets.update({f"session cookie of HR #{i}": c for i, c in enumerate(signed_in.cookies())})
    credentials.add("a password chosen", new)
    step("an HR person chose a new password from the e-mailed link; the link then opened nothing")

    sent = wait("the invitations", lambda: links(organization.slug, 5))
    for link in sent:
        credentials.add("answering token", link.rstrip("/").rsplit("/", 1)[1])
    for link in sent[:2]:
        answer(link)
    with organization_scope(organization):
        _, key = ApiKey.objects.create_key(organization=organization, name="security")
    credentials.add("API key", key)
    request = urllib.request.Request(f"{BASE_URL}/api/v1/", headers={"Authorization": f"Api-Key {key}"})
    with urllib.request.urlopen(request, timeout=30):
        pass
    step("two people answered from their links; an API key was used")


def no_credential_in_any_log(credentials: Credentials) -> None:
    logs = {path.name: path.read_text(errors="replace") for path in WORK.glob("*.log")}
    for what, secret in credentials.secrets.items():
        for name, content in logs.items():
            if secret in content:
                fail(f"a {what} is in {name}")
    access = logs.get("gunicorn-access.log", "")
    if access.count("[redacted]") < 4:
        fail("gunicorn's access log has too few redacted requests: did the journeys reach it?")
    paths = sorted(set(re.findall(r'"(?:GET|POST|HEAD) (/\S*) HTTP', access)))
    for path in paths:
        status, url, page = Browser().get(path)
        if 'name="new_password1"' in page or re.search(r'name="q\d+"', page):
            fail(f"an address in gunicorn's access log still opens something: {path}")
    step(
        f"none of {len(credentials.secrets)} credentials is in {', '.join(sorted(logs))}; "
        f"none of the {len(paths)} addresses in the access log opens anything"
    )


def sign_in(browser: Browser, email: str, password: str) -> tuple[int, str, str, float]:
    started = time.perf_counter()
    status, url, page = browser.post("/accounts/login/", {"username": email, "password": password})
    return status, url, page, time.perf_counter() - started


def signed_in(result: tuple[int, str, str, float]) -> bool:
    return result[0] == 200 and "/accounts/login/" not in result[1]


def nobody_locked_out(credentials: Credentials) -> None:
    pulse = pulse_open(team_sizes=[3], name="Lockout Ltd")
    with organization_scope(pulse.organization):
        team = Team.objects.get(path="Crew")
        owner = person_with_password(f"hr@{pulse.organization.slug}.example", "Olu Owner")
        Membership.objects.create(user=owner, role=Role.HR, team=team)
    credentials.add("a password", PASSWORD)
    known = Browser("203.0.113.1")  # the owner's laptop, later on a network the guessers share
    if not signed_in(sign_in(known, owner.email, PASSWORD)):
        fail("the owner could not sign in to begin with")
    known.get("/accounts/logout/")
    known.post("/accounts/logout/", {})
    refusals = 0
    for guess in range(40):
        guesser = Browser(f"198.51.100.9, 203.0.113.{guess % 5 + 1}")  # the owner's address written first
        status, _, page, _ = sign_in(guesser, owner.email, f"Guess-{guess}!")
        refusals += status == 429 and "Try again in" in page
    if refusals < 10:
        fail(f"only {refusals} of 40 guesses from five addresses were refused before a password check")
    result = sign_in(Browser("198.51.100.9"), owner.email, PASSWORD)
    if not signed_in(result) or result[3] > 3:
        fail(f"after forty guesses the owner, from their own address, got {result[0]} {result[1]} in {result[3]:.1f} s")
    if not signed_in(sign_in(known, owner.email, PASSWORD)):
        fail("a browser that signed in before was held back on a guessers' network")
    status, _, page, _ = sign_in(Browser("203.0.113.1"), owner.email, PASSWORD)
    if status != 429:
        fail(f"a guessing address was checked again at once: {status}")
    step(
        f"forty guesses from five addresses: {refusals} refused unchecked, with how long to wait; the owner "
        f"signed in at once ({result[3]:.2f} s) from their own address, and from a guesser's in a browser they had used"
    )


def spraying_bounded() -> None:
    pulse = pulse_open(team_sizes=[3], name="Spray Ltd")
    with organization_scope(pulse.organization):
        team = Team.objects.get(path="Crew")
        person = person_with_password(f"pat@{pulse.organization.slug}.example", "Pat")
        Membership.objects.create(user=person, role=Role.MANAGER, team=team)
    budget = int(os.environ["PULSE_SIGNIN_SITE_FAILURES"])
    for number in range(budget + 5):
        sign_in(Browser(f"192.0.2.{number % 12 + 1}"), f"user{number}@{pulse.organization.slug}.example", "Winter2026!")
    status, _, page, _ = sign_in(Browser("192.0.2.1"), person.email, "Spring2026!")
    if status != 429:
        fail(f"after {budget + 5} sprayed guesses, an address that had failed was checked again: {status}")
    if not signed_in(sign_in(Browser("198.51.100.77"), person.email, PASSWORD)):
        fail("during spraying, a person signing in from their own address was refused")
    step(f"{budget + 5} sprayed guesses passed the site's budget: sprayers refused, a person signed in")


def web_role_cannot_lift_its_scope() -> None:
    import psycopg

    from surveys.core.database_roles import WITHOUT_POLICY

    def connect(url: str) -> psycopg.Connection:
        return psycopg.connect(url.replace("postgres://", "postgresql://", 1), autocommit=True)

    with connect(WEB_URL) as web:
        web.execute("SELECT set_config('pulse.all_organizations', 'on', false)")
        tables = [
            name
            for (name,) in web.execute(
                "SELECT c.relname FROM pg_class c WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition "
                "AND c.relnamespace = current_schema()::regnamespace"
            ).fetchall()
            if name not in WITHOUT_POLICY
        ]
        seen = {table: web.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
        leaks = {table: count for table, count in seen.items() if count and table != "surveys_question"}
        own = web.execute("SELECT count(*) FROM surveys_question WHERE organization_id IS NOT NULL").fetchone()[0]
        if leaks or own:
            fail(f"the web's role, with the switch on, reads rows of {leaks}")
        for attempt in (
            "CREATE OR REPLACE FUNCTION pulse_may_span() RETURNS boolean LANGUAGE sql AS $$ SELECT true $$",
            "ALTER TABLE surveys_answer DISABLE ROW LEVEL SECURITY",
            "ALTER TABLE surveys_user NO FORCE ROW LEVEL SECURITY",
            "DROP POLICY pulse_person ON surveys_user",
            "SET ROLE pulse_jobs",
        ):
            try:
                web.execute(attempt)
            except psycopg.Error:
                continue
            fail(f"the web's role could: {attempt}")
    with connect(os.environ["DATABASE_URL"]) as jobs:
        jobs.execute("SELECT set_config('pulse.all_organizations', 'on', false)")
        if not jobs.execute("SELECT count(*) FROM surveys_user").fetchone()[0]:
            fail("the jobs' role, with the switch on, reads no person: is it the jobs' role?")
    step(
        f"as the web's role with the switch on: no row in any of {len(tables)} tables with a policy "
        "(the shared question bank aside); no way to replace the policies' function, switch security off "
        "or become the jobs' role"
    )


def api_limit_counts_every_request() -> None:
    from concurrent.futures import ThreadPoolExecutor

    rate = int(os.environ["PULSE_API_RATE"].split("/")[0])
    pulse = pulse_open(team_sizes=[3], name="Limits Ltd")
    with organization_scope(pulse.organization):
        _, key = ApiKey.objects.create_key(organization=pulse.organization, name="burst")

    def call(_: int) -> int:
        request = urllib.request.Request(f"{BASE_URL}/api/v1/", headers={"Authorization": f"Api-Key {key}"})
        try:
            with urllib.request.urlopen(request, timeout=60) as response:
                return response.status
        except urllib.error.HTTPError as error:
            return error.code

    with ThreadPoolExecutor(32) as pool:
        statuses = list(pool.map(call, range(rate * 3 // 2)))
    if statuses.count(200) != rate or statuses.count(429) != rate // 2:
        passed, refused = statuses.count(200), statuses.count(429)
        fail(f"{len(statuses)} requests at once, rate {rate}: {passed} passed, {refused} refused")
    step(f"{len(statuses)} API requests, 32 at a time, at a rate of {rate}: exactly {rate} passed")


def main() -> None:
    started = time.monotonic()
    stack = Stack()
    try:
        stack.up()
        credentials = Credentials()
        account_journeys(credentials)
        nobody_locked_out(credentials)
        spraying_bounded()
        web_role_cannot_lift_its_scope()
        api_limit_counts_every_request()
        no_credential_in_any_log(credentials)
    finally:
        stack.down()
    step(f"done in {time.monotonic() - started:.1f} s")


if __name__ == "__main__":
    main()
