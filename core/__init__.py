"""Shared foundations: settings, the embedder, Korean text analysis and the index format."""
