"""The REST API: who may call it, what each endpoint shows (exactly what the pages show, never
a figure they hide), CSVs, the roster import, errors, throttling, query counts."""

import csv
import datetime as dt
import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from surveys.api.clients import ClientRateThrottle
from surveys.models import (
    ApiKey,
    ApiKeyScope,
    Membership,
    ResultLines,
    RosterImport,
    Round,
    RoundStatus,
    RoundTeam,
    Team,
)
from tests.support.factories import SurveyFactory, TeamFactory
from tests.support.results_data import history, published_round, spread
from tests.support.roster import ACME, people, roster

API = "/api/v1/"


def make_key(tenant, scope=ApiKeyScope.READ, **fields) -> str:
    _, secret = ApiKey.all_organizations.create_key(
        organization=tenant.org, name="BI", scope=scope, created_by=tenant.hr, **fields
    )
    return secret


@pytest.fixture
def call(client):
    """call(method, path, key=…, **request kwargs): a request with an API key."""

    def send(method: str, path: str, key: str | None = None, **kwargs):
        headers = {"HTTP_AUTHORIZATION": f"Api-Key {key}"} if key else {}
        path = path.removeprefix("http://testserver")
        return getattr(client, method)(path if path.startswith("/") else API + path, **headers, **kwargs)

    return send


@pytest.fixture
def key(tenant):
    return make_key(tenant)


@pytest.fixture
def survey(tenant):
    return SurveyFactory(organization=tenant.org, name="Team pulse")


@pytest.fixture
def rounds(tenant, survey):
    """Four published rounds (Platform 5 of 6 and Product 8 answering), then a fifth where
    Field (3 people) and a skipped item are hidden, and Sales is shown."""
    sales = TeamFactory(parent=tenant.root, name="Sales")
    field = TeamFactory(parent=sales, name="Field")
    with tenant.scope():
        made = history(tenant, survey, rounds=4)
        answers = spread(8, 4)
        for person in answers[:4]:
            person[0] = None  # 4 < k answered the first item at Platform
        made.append(
            published_round(
                survey,
                {tenant.platform: answers, tenant.product: spread(8, 3), sales: spread(7, 2), field: spread(3, 3)},
                number=5,
            )
        )
    return made


def rows_of(response) -> list[dict]:
    content = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(content)))


# Who may call ------------------------------------------------------------------------------------


def test_without_credentials_the_api_answers_401_in_json(call, tenant):
    response = call("get", "teams/")
    assert response.status_code == 401
    assert response.json() == {
        "detail": "Send an API key (Authorization: Api-Key <key>) or sign in.",
        "code": "not_authenticated",
    }
    assert response["WWW-Authenticate"] == "Api-Key"


@pytest.mark.parametrize(
    ("fields", "code"),
    [({"revoked": True}, "invalid_key"), ({"expiry_date": timezone.now() - dt.timedelta(days=1)}, "expired_key")],
)
def test_revoked_expired_and_wrong_keys_are_refused(call, tenant, fields, code):
    secret = make_key(tenant, **fields)
    assert call("get", "teams/", key=secret).json()["code"] == code
    assert call("get", "teams/", key=secret[:-1] + "x").status_code == 401
    assert call("get", "teams/", key="nonsense").status_code == 401


def test_a_key_sees_its_own_organisation_only(call, tenant, other_tenant, key):
    paths = {team["path"] for team in call("get", "teams/", key=key).json()["results"]}
    assert paths == {"Acme", "Acme/Engineering", "Acme/Engineering/Platform", "Acme/Engineering/Product"}
    assert call("get", "teams/?organization=globex", key=key).status_code == 404
    theirs = Team.all_organizations.get(organization=other_tenant.org, path="Globex/Engineering")
    assert call("get", f"results/?team={theirs.pk}", key=key).json()["code"] == "not_found"


def test_a_key_records_when_it_was_last_used(call, tenant, key):
    assert ApiKey.all_organizations.get().last_used_at is None
    call("get", "teams/", key=key)
    assert ApiKey.all_organizations.get().last_used_at is not None


def test_signed_in_hr_and_managers_use_their_session_and_employees_cannot(login, tenant, rounds):
    assert login(tenant.hr).get(API + "people/").status_code == 200
    manager = login(tenant.manager)
    teams = {row["path"] for row in manager.get(API + "teams/").json()["results"]}
    assert teams == {"Acme/Engineering", "Acme/Engineering/Platform", "Acme/Engineering/Product"}
    results = manager.get(API + "results/").json()["results"]
    assert {node["team"]["path"] for node in results} == teams
    assert manager.get(API + "people/").json()["code"] == "hr_only"
    assert manager.get(API + "roster.csv").status_code == 403
    assert login(tenant.employee).get(API + "teams/").json()["code"] == "no_results_role"


def test_someone_of_two_organisations_names_the_one_they_mean(login, tenant, other_tenant):
    Membership.all_organizations.create(organization=other_tenant.org, user=tenant.hr.user, role="hr")
    client = login(tenant.hr)
    assert client.get(API + "teams/").json()["code"] == "organization_required"
    paths = {row["path"] for row in client.get(API + "teams/?organization=globex").json()["results"]}
    assert "Globex" in paths and "Acme" not in paths


def test_a_read_only_key_cannot_import(call, tenant, key):
    response = call("post", "roster/imports/", key=key, data=roster(*ACME), content_type="text/csv")
    assert response.status_code == 403 and response.json()["code"] == "read_only"
    assert not RosterImport.all_organizations.exists()


# What it shows: the pages' figures, never more ------------------------------------------------------


def test_results_match_the_dashboards_figure_by_figure_and_hidden_ones_are_absent(call, login, tenant, rounds, key):
    page = login(tenant.hr)
    nodes = []
    url = "results/?page_size=7"
    while url:
        body = call("get", url, key=key).json()
        nodes += body["results"]
        url = body["next"]
    assert len(nodes) == 5 * 6  # each round's frozen tree: six teams
    for node in nodes:
        shown = page.get(f"/o/acme/teams/{node['team']['id']}/?round={node['round']['id']}").context["d"].results
        assert node["shown"] is shown.published
        if not shown.published:
            assert node["reason"] == "group_hidden" and node["measures"] == []
            assert node["respondents"] is node["invited"] is node["response_rate"] is None
            continue
        assert (node["respondents"], node["invited"]) == (shown.respondents, shown.invited)
        by_code = {(m["type"], m["code"]): m for m in node["measures"]}
        for construct in shown.constructs:
            measure = by_code[("construct", construct.construct)]
            if construct.suppressed:
                assert measure["shown"] is False and measure["reason"] == "measure_incomplete"
                assert measure["index"] is measure["n"] is measure["shares"] is None
            else:
                assert measure["index"] == round(construct.score.index, 1)
        for item in shown.items:
            measure = by_code[("question", item.question.code)]
            if item.suppressed:
                assert measure["reason"] == "question_hidden" and measure["index"] is None
            else:
                assert measure["index"] == round(item.score.index, 1) and measure["n"] == item.score.n


def test_the_results_csv_shows_the_same_and_leaves_hidden_figures_empty(call, login, tenant, rounds, key):
    response = call("get", "results.csv", key=key)
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == 'attachment; filename="acme-results.csv"'
    rows = rows_of(response)
    json_nodes = call("get", "results/?page_size=1000", key=key).json()["results"]
    by_node = {(n["round"]["id"], n["team"]["id"]): n for n in json_nodes}
    assert {(int(r["round_id"]), int(r["team_id"])) for r in rows} == {
        key for key, node in by_node.items() if node["shown"]
    } | {key for key, node in by_node.items() if not node["shown"]}
    for row in rows:
        node = by_node[(int(row["round_id"]), int(row["team_id"]))]
        if row["shown"] == "no":
            assert row["index"] == row["n"] == row["favourable"] == "" and row["reason"]
            continue
        measure = next(m for m in node["measures"] if m["code"] == row["measure"] and m["type"] == row["measure_type"])
        assert float(row["index"]) == measure["index"]
        assert (row["change"] or None) == measure["change"]


def test_the_heatmap_matches_the_results_page_in_json_and_csv(call, login, tenant, rounds, key):
    last = rounds[-1]
    overview = login(tenant.hr).get(f"/o/acme/results/?round={last.pk}&expand=all").context["overview"]
    page = [line.row for line in overview.lines]
    body = call("get", f"heatmap/?round={last.pk}", key=key).json()
    csv_rows = {row["team"]: row for row in rows_of(call("get", f"heatmap.csv?round={last.pk}", key=key))}
    assert [row["team"]["path"] for row in body["rows"]] == [row.team.path for row in page]
    for shown, row in zip(page, body["rows"], strict=True):
        for cell, api_cell in zip(shown.cells, row["cells"], strict=True):
            assert api_cell["index"] == (None if cell.index is None else round(cell.index, 1))
            assert api_cell["shown"] is not cell.suppressed
            exported = csv_rows[shown.team.path][f"index_{cell.construct}"]
            assert exported == ("" if cell.index is None else str(round(cell.index, 1)))
    assert csv_rows["Acme/Sales/Field"]["reason"] == "group_hidden"


def test_a_manager_downloads_only_their_teams_from_the_dashboard_button(login, tenant, rounds):
    client = login(tenant.manager)  # leads Engineering
    page = client.get(f"/o/acme/teams/{tenant.engineering.pk}/").content.decode()
    link = re.search(r'href="(/api/v1/results\.csv\?[^"]+)"', page)[1].replace("&amp;", "&")
    teams = {row["team"] for row in rows_of(client.get(link))}
    assert teams == {"Acme/Engineering", "Acme/Engineering/Platform", "Acme/Engineering/Product"}
    heatmap_link = re.search(r'href="(/api/v1/heatmap\.csv\?[^"]+)"', client.get("/o/acme/results/").content.decode())[
        1
    ].replace("&amp;", "&")
    assert {row["team"] for row in rows_of(client.get(heatmap_link))} <= teams


def test_filters_by_survey_round_dates_subtree_and_construct(call, tenant, rounds, key):
    last = rounds[-1]
    nodes = call("get", f"results/?round={last.pk}&team={tenant.engineering.pk}", key=key).json()["results"]
    assert {n["team"]["path"] for n in nodes} == {
        "Acme/Engineering",
        "Acme/Engineering/Platform",
        "Acme/Engineering/Product",
    }
    only = call("get", f"results/?round={last.pk}&construct=autonomy", key=key).json()["results"]
    assert {m["construct"] for n in only for m in n["measures"]} == {"autonomy"}
    since = last.closed_at.date().isoformat()
    recent = call("get", f"results/?closed_after={since}", key=key).json()["results"]
    assert {n["round"]["id"] for n in recent} == {last.pk}
    assert call("get", f"rounds/?survey={last.survey_id}&status=published", key=key).json()["results"][0]["id"]


@pytest.mark.parametrize(
    "query",
    ["round=³", "round=1e3", "round=99999999999999999999999", "closed_after=yesterday", "construct=joy", "team=-1"],
)
def test_bad_parameters_are_a_400_with_the_reason_never_a_500(call, tenant, key, query):
    response = call("get", f"results/?{query}", key=key)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and body["errors"]


def test_another_organisations_round_is_a_404_everywhere(call, tenant, other_tenant, rounds, key):
    theirs = make_key(other_tenant)
    round_id = rounds[0].pk
    assert call("get", f"heatmap/?round={round_id}", key=theirs).status_code == 404
    assert call("get", f"heatmap.csv?round={round_id}", key=theirs).status_code == 404
    assert call("get", f"results/?round={round_id}", key=theirs).status_code == 404
    assert call("get", f"rounds/?survey={rounds[0].survey_id}", key=theirs).status_code == 404


def test_unknown_addresses_methods_and_bodies_answer_in_json(call, tenant, key):
    assert call("get", "nothing-here/", key=key).json() == {
        "detail": "There is no such API endpoint.",
        "code": "not_found",
    }
    assert call("get", "/api/v2/teams/", key=key).status_code == 404
    response = call("delete", "results/", key=key)  # even a read-only key learns the method is wrong
    assert response.status_code == 405 and response.json()["code"] == "method_not_allowed"
    writer = make_key(tenant, scope=ApiKeyScope.WRITE)
    response = call("post", "roster/imports/", key=writer, data="<roster/>", content_type="application/xml")
    assert response.status_code == 415 and response.json()["code"] == "unsupported_media_type"
    assert call("get", "results/?cursor=garbage", key=key).status_code == 404


def test_too_many_requests_are_a_429_with_when_to_retry(call, tenant, key, monkeypatch):
    from django.core.cache import cache

    cache.clear()
    monkeypatch.setattr(ClientRateThrottle, "rate", "3/minute", raising=False)
    statuses = [call("get", "surveys/", key=key).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    body = call("get", "surveys/", key=key).json()
    assert body["code"] == "throttled" and body["retry_after"] > 0
    assert call("get", "surveys/", key=make_key(tenant)).status_code == 200  # per key


def test_the_results_list_runs_a_fixed_number_of_queries(call, tenant, rounds, key, django_assert_num_queries):
    call("get", "results/?page_size=5", key=key)
    with django_assert_num_queries(7):
        call("get", "results/?page_size=5", key=key)
    with django_assert_num_queries(7):  # twenty times the nodes: the same queries
        call("get", "results/?page_size=100", key=key)


def test_the_csv_streams_in_batches(call, tenant, rounds, key, monkeypatch):
    from surveys.selectors import exports

    whole = rows_of(call("get", "results.csv", key=key))
    ResultLines.all_organizations.all().delete()
    monkeypatch.setattr(exports, "BATCH", 3)
    monkeypatch.setattr(exports, "CHUNK", 100)
    streamed = call("get", "results.csv", key=key)
    assert not hasattr(streamed, "content")  # a StreamingHttpResponse
    assert len(list(streamed.streaming_content)) > 10
    assert rows_of(call("get", "results.csv", key=key)) == whole


def test_each_nodes_lines_are_formatted_once_then_read(call, tenant, rounds, key, monkeypatch):
    from surveys.selectors import exports

    first = call("get", "results.csv", key=key).getvalue()
    with tenant.scope():
        nodes = RoundTeam.objects.filter(round__in=rounds).count()
        assert ResultLines.objects.filter(version=exports.LINES_VERSION).count() == nodes

    def no_scoring(nodes):
        raise AssertionError("a stored node was scored again")

    monkeypatch.setattr(exports, "node_results", no_scoring)
    assert call("get", "results.csv", key=key).getvalue() == first


def test_lines_of_another_version_are_computed_again(call, tenant, rounds, key):
    from surveys.selectors import exports

    first = call("get", "results.csv", key=key).getvalue()
    with tenant.scope():
        ResultLines.objects.update(version=exports.LINES_VERSION - 1, lines={"node": ",,", "measures": [["x", "y"]]})
    assert call("get", "results.csv", key=key).getvalue() == first
    with tenant.scope():
        assert not ResultLines.objects.exclude(version=exports.LINES_VERSION).exists()


def test_names_are_todays_even_in_stored_lines(call, tenant, rounds, key):
    call("get", "results.csv", key=key)
    Team.all_organizations.filter(pk=tenant.platform.pk).update(name="Core", path="Acme/Engineering/Core")
    paths = {row["team"] for row in rows_of(call("get", "results.csv", key=key))}
    assert "Acme/Engineering/Core" in paths and "Acme/Engineering/Platform" not in paths


def test_publication_formats_the_lines_and_a_late_earlier_round_clears_later_ones(
    call, tenant, survey, key, django_capture_on_commit_callbacks
):
    with tenant.scope(), django_capture_on_commit_callbacks(execute=True):
        second = published_round(survey, {tenant.platform: spread(6, 4)}, number=2)
    with tenant.scope():
        assert ResultLines.objects.filter(round=second).count() == RoundTeam.objects.filter(round=second).count() > 0
        published_round(survey, {tenant.platform: spread(6, 2)}, number=1)
        assert not ResultLines.objects.filter(round=second).exists()  # its change flags look back on round 1 now
    changes = {row["change"] for row in rows_of(call("get", f"results.csv?round={second.pk}", key=key))}
    assert changes - {""}  # round 2 is compared with round 1


# The roster ----------------------------------------------------------------------------------------


def test_people_and_the_roster_csv_never_carry_answers(call, tenant, rounds, key):
    person = call("get", "people/?role=manager", key=key).json()["results"][0]
    assert set(person) == {"id", "email", "name", "team", "team_path", "role", "is_active", "leads"}
    assert person["leads"] == ["Acme/Engineering"]
    exported = rows_of(call("get", "roster.csv", key=key))
    assert list(exported[0]) == ["email", "name", "team", "role", "manages"]


def test_a_roster_import_through_the_api_previews_then_confirms(call, tenant, other_tenant):
    writer = make_key(tenant, scope=ApiKeyScope.WRITE)
    before = people(tenant)
    upload = SimpleUploadedFile("roster.csv", roster(*ACME), "text/csv")
    response = call("post", "roster/imports/", key=writer, data={"file": upload, "mode": "sync"})
    assert response.status_code == 200
    preview = response.json()
    assert preview["status"] == "preview" and preview["plan"]["counts"]["people_added"] == 3
    assert people(tenant) == before
    confirm = f"roster/imports/{preview['id']}/confirm/"
    refused = call("post", confirm, key=writer, data={}, content_type="application/json")
    assert refused.status_code == 400 and refused.json()["code"] == "large_deactivation_ok"
    done = call("post", confirm, key=writer, data={"large_deactivation_ok": True}, content_type="application/json")
    assert done.status_code == 200 and done.json()["status"] == "done"
    assert people(tenant)["new@acme.test"][3] is True
    again = call("post", confirm, key=writer, data={"large_deactivation_ok": True}, content_type="application/json")
    assert again.status_code == 409
    assert call("get", f"roster/imports/{preview['id']}/", key=make_key(other_tenant)).status_code == 404


def test_a_bad_roster_is_a_400_with_every_problem_by_line_and_nothing_kept(call, tenant):
    writer = make_key(tenant, scope=ApiKeyScope.WRITE)
    before = people(tenant)
    body = roster(*ACME, "bad,Bad,Acme//X,boss,")
    response = call("post", "roster/imports/?mode=add", key=writer, data=body, content_type="text/csv")
    assert response.status_code == 400
    failure = response.json()
    assert failure["code"] == "invalid_roster" and failure["detail"].startswith("Nothing was imported: 3 problems")
    assert {(error["line"], error["column"]) for error in failure["errors"]} == {(7, "email"), (7, "team"), (7, "role")}
    assert people(tenant) == before


def test_a_roster_import_can_be_cancelled(call, tenant):
    writer = make_key(tenant, scope=ApiKeyScope.WRITE)
    started = call("post", "roster/imports/", key=writer, data=roster(*ACME), content_type="text/csv").json()
    cancelled = call("post", f"roster/imports/{started['id']}/cancel/", key=writer)
    assert cancelled.json()["status"] == "cancelled"


# Keys on the settings page ---------------------------------------------------------------------------


def test_hr_creates_a_key_sees_it_once_and_revokes_it(login, call, tenant):
    client = login(tenant.hr)
    page = client.post("/o/acme/settings/api-keys/", {"name": "Power BI", "scope": "read"}, follow=True)
    assert page.redirect_chain == [("/o/acme/settings/api-keys/", 302)]  # a reload creates no second key
    secret = re.search(r'id="new-key"[^>]*value="([^"]+)"', page.content.decode())[1]
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    assert call("get", "teams/", key=secret).status_code == 200
    listing = client.get("/o/acme/settings/api-keys/").content.decode()
    assert "Power BI" in listing and secret not in listing and secret.split(".")[0] in listing
    stored = ApiKey.all_organizations.get()
    assert secret not in (stored.pk, stored.hashed_key) and stored.created_by == tenant.hr
    client.post(f"/o/acme/settings/api-keys/{stored.prefix}/revoke/")
    assert call("get", "teams/", key=secret).status_code == 401


def test_a_bad_key_form_keeps_what_was_typed(login, tenant):
    page = login(tenant.hr).post(
        "/o/acme/settings/api-keys/", {"name": "BI\nsync", "scope": "write", "expires_on": "2001-01-01"}
    )
    text = page.content.decode()
    assert "A name must fit on one line" in text and not ApiKey.all_organizations.exists()


def test_an_expiry_date_in_the_future_is_kept(login, tenant):
    soon = (timezone.localdate() + dt.timedelta(days=30)).isoformat()
    login(tenant.hr).post("/o/acme/settings/api-keys/", {"name": "BI", "scope": "read", "expires_on": soon})
    assert ApiKey.all_organizations.get().expiry_date.date().isoformat() == soon


# The schema and its documentation ----------------------------------------------------------------------


def test_the_schema_is_served_and_the_docs_use_local_files_only(client):
    schema = client.get(API + "schema/?format=json").json()
    assert schema["openapi"].startswith("3.") and "/api/v1/results/" in schema["paths"]
    assert schema["components"]["securitySchemes"]["ApiKey"]["name"] == "Authorization"
    docs = client.get(API + "docs/").content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', docs)
    # Pulse's own page around Swagger UI: its own paths, the skip link's #main, the empty data:
    # icon; nothing from another host.
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in sources
    assert sources and all(source.startswith(("/", "#", "data:")) for source in sources), sources
    assert not any(source.startswith("//") for source in sources), sources


def test_published_rounds_only(call, tenant, survey, key):
    with tenant.scope():
        published_round(survey, {tenant.platform: spread(6, 4)}, number=1)
        Round.objects.update(status=RoundStatus.FAILED)
    assert call("get", "results/", key=key).json()["results"] == []
    assert rows_of(call("get", "results.csv", key=key)) == []


@pytest.mark.postgres
def test_the_export_benchmark_runs_end_to_end(postgres, transactional_db, question_bank, capsys):
    from django.core.management import call_command

    from surveys.models import Organization

    call_command("benchmark", "export", "--teams", "12", "--rounds", "3", "--small-rounds", "1", "--repeat", "1")
    out = capsys.readouterr().out
    assert "36 team nodes" in out and "12 team nodes" in out
    assert "of COPY's rate in team nodes" in out and "peak Python memory" in out
    assert not Organization.objects.filter(slug__startswith="benchmark-").exists()


@pytest.mark.postgres
def test_the_pages_benchmark_runs_end_to_end(postgres, transactional_db, question_bank, capsys):
    from django.core.management import call_command

    from surveys.models import Organization

    call_command("benchmark", "pages", "--teams", "12", "--rounds", "3", "--repeat", "1")
    out = capsys.readouterr().out
    assert "HR: results, two levels" in out and "baseline: the round's Results, bare" in out
    assert "sign-in page (the baseline for the targets)" in out
    assert not Organization.objects.filter(slug__startswith="benchmark-").exists()
