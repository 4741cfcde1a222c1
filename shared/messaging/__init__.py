"""Moving events: the envelope codec, the outbox relay, the consumer with its inbox, topic creation."""
