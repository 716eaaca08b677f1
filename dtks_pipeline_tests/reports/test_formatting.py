"""Indonesian number formatting."""
from dtks_pipeline.defs.reports.formatting import number, rupiah, signed


def test_rupiah_and_numbers_the_indonesian_way():
    assert rupiah(1_302_750_000) == "Rp1.302.750.000"
    assert rupiah(-150_000) == "-Rp150.000"
    assert number(8685) == "8.685" and number(0.5, 1) == "0,5" and number(None) == "–"
    assert signed(2000) == "+2.000" and signed(-300_000_000, money=True) == "-Rp300.000.000" and signed(0) == "0"
