"""Strongroom: a self-hosted, secure-by-default video transcoding service."""

__version__ = "0.1.0"
