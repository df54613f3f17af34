"""Verify: read what the other stages wrote and say whether anything changed, and what."""
