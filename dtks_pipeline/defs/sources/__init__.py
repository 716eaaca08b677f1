"""Domain: sources."""
