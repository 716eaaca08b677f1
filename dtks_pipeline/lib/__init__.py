"""Pure domain code with no Dagster: NIK/NOKK, dates, regions, names, warehouse I/O."""
