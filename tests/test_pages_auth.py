from surveys.models import Role
from tests.support.factories import PASSWORD, MembershipFactory


def test_sign_in_page_renders_and_signs_in(client, tenant):
    page = client.get("/accounts/login/")
    assert page.status_code == 200
    assert b'<label for="id_username">' in page.content
    response = client.post("/accounts/login/", {"username": tenant.employee.user.email, "password": PASSWORD})
    assert response.status_code == 302
    landing = client.get(response["Location"])
    assert landing.status_code == 302 and landing["Location"] == "/o/acme/"


def test_a_wrong_password_keeps_the_email_and_explains(client, tenant):
    response = client.post("/accounts/login/", {"username": tenant.employee.user.email, "password": "nope"})
    assert response.status_code == 200
    assert b"correct email" in response.content.lower() or b"enter a correct" in response.content.lower()
    assert tenant.employee.user.email.encode() in response.content


def test_sign_out_is_a_post_and_ends_the_session(login, tenant):
    client = login(tenant.employee)
    assert client.post("/accounts/logout/").status_code == 302
    assert client.get("/o/acme/").status_code == 302


def test_someone_in_two_organizations_chooses_one(login, tenant, other_tenant):
    MembershipFactory(organization=other_tenant.org, user=tenant.hr.user, role=Role.EMPLOYEE)
    page = login(tenant.hr).get("/")
    assert page.status_code == 200
    assert b"/o/acme/" in page.content and b"/o/globex/" in page.content


def test_someone_in_no_organization_gets_a_helpful_empty_page(client, db):
    from tests.support.factories import UserFactory

    user = UserFactory()
    client.force_login(user)
    page = client.get("/")
    assert page.status_code == 200
    assert b"not part of any organisation" in page.content


def test_home_page_depends_on_the_role(login, tenant):
    employee = login(tenant.employee).get("/o/acme/").content.decode()
    assert "Your pulses" in employee and "Programme" not in employee and "Teams you lead" not in employee
    manager = login(tenant.manager).get("/o/acme/").content.decode()
    assert "Teams you lead" in manager and "Acme/Engineering/Platform" in manager and "Programme" not in manager
    hr = login(tenant.hr).get("/o/acme/").content.decode()
    assert "Programme" in hr and "active people" in hr


def test_an_inactive_membership_cannot_enter_the_organization(login, tenant):
    client = login(tenant.employee)
    tenant.employee.is_active = False
    tenant.employee.save()
    assert client.get("/o/acme/").status_code == 404
