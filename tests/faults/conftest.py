"""The backbone tests' probe database and producer, for the consumer restart test."""

from tests.integration.conftest import db, producer  # noqa: F401 - fixtures, registered by import
