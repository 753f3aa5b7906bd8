"""Vocabularies, code maps and small typed values shared by every layer (no I/O, no Qt)."""
