"""Console accounts below the web console: roles and principals (:mod:`~collector.accounts.roles`,
pure), the account store (:mod:`~collector.accounts.store`: users, argon2 password hashes,
personal tokens) and the audit log's writer (:mod:`~collector.accounts.audit_log`).

The web console (:mod:`collector.web`) and ``camwatch users`` both use them; ``camwatch users``
thus starts without importing the web console (aiohttp, the pages, the collector's runtime).
Nothing here imports :mod:`collector.web`.
"""
