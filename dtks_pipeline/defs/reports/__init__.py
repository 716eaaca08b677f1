"""Domain: reports. Pages people read without SQL (the monthly report), and the
shared pieces the budget-planning page uses too: Indonesian number formatting,
Altair charts rendered offline to SVG, and a self-contained HTML page."""
