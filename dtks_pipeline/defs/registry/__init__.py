"""Domain: registry."""
