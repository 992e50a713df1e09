"""Domain events: the transactional outbox every reaction reads (docs/events.md)."""
