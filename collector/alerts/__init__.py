"""Alert decisions, messages and work orders (issue 5, items 1, 3 and 4).

``engine`` decides (pure: inputs and ``now`` in, typed actions out), ``messages`` words
them, ``workorders`` holds the repair-deadline policy and colours, ``store`` persists.
Delivery (channels, rate limits) lives in ``collector.notify``.
"""
