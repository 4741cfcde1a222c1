"""Quarantine: facilities, episodes and daily check-ins."""
