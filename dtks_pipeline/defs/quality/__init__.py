"""Domain: quality."""
