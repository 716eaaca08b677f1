"""Domain: budget planning. What-if simulations of the programs file on a published
month of the registry, with the project's own eligibility and allocation rules."""
