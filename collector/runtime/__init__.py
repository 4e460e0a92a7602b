"""The running collector: the probe scheduler, each camera's state machine, the interval writer,
the region figures for the exporter and the :class:`~collector.runtime.app.App` that wires them.

Nothing here serves HTTP or parses command lines: :mod:`collector.web` and :mod:`collector.cli`
sit on top and are handed an ``App``.
"""
