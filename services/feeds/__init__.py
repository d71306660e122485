"""Real data sources into Kafka: FDSN web services (docs/feeds.md)."""
