"""Notify: commune follow-up by SMS and webhooks."""
