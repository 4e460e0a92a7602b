"""Alert decisions, messages and work orders (issue 5, items 1, 3 and 4).

``engine`` decides (pure: inputs and ``now`` in, typed actions out), ``messages`` words
them, ``workorders`` holds the repair-deadline policy and colours, ``incident_store`` persists; ``service`` runs it in the collector.
Delivery (channels, rate limits) lives in ``collector.alerting.delivery``.
"""
