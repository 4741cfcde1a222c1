"""The web frame every service runs in: the app and its runtime, authentication, error answers."""
