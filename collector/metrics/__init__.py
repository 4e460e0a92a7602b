"""Prometheus metrics (DESIGN §7; the names are a contract).

``families`` declares each family once (name, type, help text, label names); ``registry`` is the
prometheus_client view (a custom Collector over in-memory state); ``text`` is the fast renderer
``/metrics`` uses, which writes the same families.
"""
