"""Consent: notices, the append-only ledger, the gate, erasure."""
