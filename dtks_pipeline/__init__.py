"""dtks_pipeline: the DTKS Buleleng registry and payout pipeline."""
