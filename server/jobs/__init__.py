"""Durable background jobs: what enqueues each kind, and its handler (``handlers``)."""
