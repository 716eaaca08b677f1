"""Domain: operations."""
