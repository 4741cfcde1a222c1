"""Identity: users, passwords and the tokens every other service verifies."""
