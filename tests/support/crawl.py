"""A crawl of every link a signed-in user is shown: a page a user is offered must open (no
404, no 403, no server error)."""

import re
from collections import deque
from urllib.parse import urljoin, urlsplit

HREF = re.compile(r'href="([^"#]+)"')
SKIP = ("/static/", "/admin/", "/accounts/logout/", "mailto:", "tel:", "http://", "https://")
MAX_PAGES = 400


def crawl(client, start: str, on_page=None) -> dict[str, int]:
    """Every product page reachable from `start` by the links shown, with its status.
    `on_page(url, response)` is called with each HTML page that opened."""
    seen: dict[str, int] = {}
    queue = deque([start])
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
        if on_page is not None and response.status_code == 200:
            on_page(url, response)
        for href in HREF.findall(response.content.decode()):
            href = href.replace("&amp;", "&")
            if href.startswith(SKIP) or href.startswith("?") and "export" in href:
                continue
            target = urljoin(url, href)
            if urlsplit(target).path.startswith(("/o/", "/answer/")) and target not in seen:
                queue.append(target)
    return seen
