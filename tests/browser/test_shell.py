"""The product shell in a real browser: sign in, role-aware home, phone layout, keyboard."""

from playwright.sync_api import expect

from tests.support.browser import assert_fits_screen, unlabelled_controls


def test_sign_in_page_and_employee_home(page, shot, sign_in, tenant, other_tenant):
    page.goto("/accounts/login/")
    assert unlabelled_controls(page) == []
    shot(page, "login")
    sign_in(page, tenant.employee)
    assert page.url.endswith("/o/acme/")
    assert page.get_by_role("heading", name="Your pulses").is_visible()
    assert not page.get_by_role("heading", name="Programme").count()
    shot(page, "home-employee")


def test_a_failed_sign_in_keeps_the_email_and_says_why(page, shot, tenant):
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(tenant.employee.user.email)
    page.get_by_label("Password").fill("wrong password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert page.get_by_label("Email").input_value() == tenant.employee.user.email
    shot(page, "login-error")


def test_manager_and_hr_homes(page, shot, sign_in, tenant, other_tenant):
    sign_in(page, tenant.manager)
    assert page.get_by_role("heading", name="Teams you lead").is_visible()
    shot(page, "home-manager")
    page.get_by_role("button", name="Sign out").click()
    sign_in(page, tenant.hr)
    assert page.get_by_role("heading", name="Programme").is_visible()
    shot(page, "home-hr")


def test_home_on_a_phone_fits_the_screen(phone, shot, sign_in, tenant):
    sign_in(phone, tenant.hr)
    assert_fits_screen(phone)
    shot(phone, "home-hr-phone")


def test_keyboard_users_can_skip_to_the_content(page, sign_in, tenant):
    sign_in(page, tenant.employee)
    page.keyboard.press("Tab")
    focused = page.evaluate("document.activeElement.textContent.trim()")
    assert focused == "Skip to content"
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
