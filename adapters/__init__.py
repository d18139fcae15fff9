"""Platform adapters: one subpackage per platform; each moves bytes and normalizes payloads."""
