"""Common library of the border-return services.

- `contracts/`: the versioned events and the topics they travel on;
- `messaging/`: the envelope codec, the outbox relay, the consumer and its inbox, topic creation;
- `web/`: the service frame (app, runtime, health), authentication and error answers;
- `geo/`: the gazetteer (reference data);
- at the top: what a use case needs (unit of work, clock, settings, database, errors, audit), logging,
  the metrics every service exports, loop supervision, migrations and the console entry points.
"""
