"""Posts as data: one extractor per platform plus a generic one they all fall back to.

Each platform module defines a `Platform` (see base.py): which URLs it knows, the CSS of the
post element (for the post screenshot), its page behaviours, how it spots a login wall, and
`extract(evidence) -> Post`. registry.py picks the platform; extract.py runs it and merges the
generic reading into the gaps. Markup relied on: docs/platforms.md.
"""
