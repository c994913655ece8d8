"""The REST API under /api/v1/: published results and the roster, for HR's tools.

It obeys exactly the rules of the pages and reads through the same selectors: published
figures only, a figure not shown is absent with its reason, never an answer. A client is an
organisation's API key or a signed-in HR person or manager; either way every request runs in
one organisation's scope (docs/architecture.md, "The API").
"""
