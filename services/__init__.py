"""Streaming services: ingest, inference and publish on Kafka (no torch)."""
