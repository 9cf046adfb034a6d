"""Celery workers: ingestion, feedback, notifications (and later training) off the chat path."""
