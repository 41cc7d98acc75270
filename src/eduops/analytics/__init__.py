"""Learning analytics: the xAPI 1.0.3 learning record store, the event store and learning metrics."""
