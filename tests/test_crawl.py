"""Follow every link the product shows each demo role, and require that none of them is broken:
a page a user is offered must open (no 404, no 403, no server error)."""

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

from django.core.management import call_command

from surveys.demo import DEMO_PASSWORD

HREF = re.compile(r'href="([^"#]+)"')
SKIP = ("/static/", "/admin/", "/accounts/logout/", "mailto:", "tel:", "http://", "https://")
MAX_PAGES = 400


def _crawl(client, start: str) -> dict[str, int]:
    seen, queue = {}, deque([start])
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        response = client.get(url)
        seen[url] = response.status_code
        if response.status_code in (301, 302):
            queue.append(urljoin(url, response["Location"]))
            continue
        if "html" not in response.get("Content-Type", ""):
            continue
        for href in HREF.findall(response.content.decode()):
            href = href.replace("&amp;", "&")
            if href.startswith(SKIP) or href.startswith("?") and "export" in href:
                continue
            target = urljoin(url, href)
            if urlsplit(target).path.startswith(("/o/", "/answer/")) and target not in seen:
                queue.append(target)
    return seen


ROLES = ["hr@northwind.example", "manager@northwind.example", "employee@northwind.example", "director@globex.example"]


def test_every_link_each_role_is_shown_opens(transactional_db, client):
    call_command("demo", verbosity=0)  # seeded through the real services, aggregated on commit
    for email in ROLES:
        assert client.login(username=email, password=DEMO_PASSWORD), email
        pages = _crawl(client, "/")
        broken = {url: status for url, status in pages.items() if status >= 400}
        assert not broken, (email, broken)
        assert len(pages) >= 3, email
        client.logout()
