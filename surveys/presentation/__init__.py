"""Presentation (docs/architecture.md, "Layers"): how what the selectors read is shown to people,
on the reads floor beside them. Labels, hints, colours as cards and lines, and the shape of a
page's tree; no query runs here. Texts in other languages will live here too.
"""
