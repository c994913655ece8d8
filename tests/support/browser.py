"""Checks the browser tests share."""

import functools
from pathlib import Path

#: axe-core, installed from npm by `make install-dev` and injected into the page under test
#: (never fetched from a CDN).
AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
#: Impacts that fail a page.
BLOCKING_IMPACTS = ("serious", "critical")


@functools.cache
def _axe_source() -> str:
    return AXE.read_text() + "\n;window.axe !== undefined"


def accessibility_problems(page) -> list[str]:
    """axe-core's serious and critical violations on the page as it is now, one line each."""
    # Evaluated through the browser's devtools protocol, which the page's CSP does not govern
    # (a <script> tag would be refused, as it should be).
    page.evaluate(_axe_source())
    violations = page.evaluate(
        """async () => (await axe.run(document, {resultTypes: ['violations']})).violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            targets: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"""
    )
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {', '.join(v['targets'])}"
        for v in violations
        if v["impact"] in BLOCKING_IMPACTS
    ]


def assert_fits_screen(page, where: str = "") -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling of the page. A failure
    names the widest elements that stick out (outside any scrolling table)."""
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    if width > screen:
        culprits = page.evaluate(
            """() => Array.from(document.querySelectorAll('body *'))
                .filter(el => el.getBoundingClientRect().right > window.innerWidth + 1)
                .filter(el => !(el.parentElement && el.parentElement.closest('.table-wrap')))
                .slice(-3).map(el => el.tagName.toLowerCase() + (el.className ? '.' + el.className : '')
                                      + ' ' + Math.round(el.getBoundingClientRect().right) + 'px')"""
        )
        raise AssertionError(f"{where or page.url} is {width}px wide on a {screen}px screen: {culprits}")


def unlabelled_controls(page) -> list[str]:
    """Form controls a screen reader could not name (no label, aria-label or aria-labelledby)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => el.type !== 'hidden' && el.type !== 'submit')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""
    )
