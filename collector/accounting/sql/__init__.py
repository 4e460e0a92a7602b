"""The accounting pushed into the database (SQLite and PostgreSQL), equal to the pure rules.

Everything here must give exactly the numbers of :mod:`collector.accounting` (the tests compare
them on both databases). ``load`` reads what a period needs and hands it to the pure accounting;
``span_sums`` holds the SQL building blocks (the timeline rule in SQL, the spans relevant to a
window, how times are bound and read back); ``camera_times`` sums each camera's time in one
query; ``rollups`` keeps the daily cumulative rows and ``rollup_sums`` reads a window from them;
``exclusion_sums`` takes excluded time off; ``group_rates`` sums by region and contractor;
``rate_tables`` shapes the tables the CLI and the API print.
"""
