"""Checks the browser tests share."""


def assert_fits_screen(page, where: str = "") -> None:
    """Nothing on the page is wider than the screen: no sideways scrolling of the page."""
    width, screen = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= screen, f"{where or page.url} is {width}px wide on a {screen}px screen"


def unlabelled_controls(page) -> list[str]:
    """Form controls a screen reader could not name (no label, aria-label or aria-labelledby)."""
    return page.evaluate(
        """() => Array.from(document.querySelectorAll('input, select, textarea'))
            .filter(el => el.type !== 'hidden' && el.type !== 'submit')
            .filter(el => !(el.labels && el.labels.length) && !el.getAttribute('aria-label')
                          && !el.getAttribute('aria-labelledby'))
            .map(el => el.name || el.id || el.outerHTML.slice(0, 80))"""
    )
