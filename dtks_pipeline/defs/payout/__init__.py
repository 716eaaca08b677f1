"""Domain: payout."""
