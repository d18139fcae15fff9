"""Persistence: tortoise-orm models, database start-up and migrations, the encryption vault."""
