"""Common library of the border-return services: event contracts, Kafka plumbing, settings, database."""
