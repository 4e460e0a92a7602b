"""Prometheus metrics (DESIGN §7; the names are a contract).

``registry`` is the prometheus_client view (a custom Collector over in-memory state);
``text`` is the fast renderer ``/metrics`` uses, which writes the same families.
"""
