"""Tests of the identity service: tokens, the CLI and the audit trail."""
