"""Dagster definitions, one folder per domain; data flows sources -> registry -> payout."""
