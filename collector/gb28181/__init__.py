"""camwatch as a GB/T 28181 SIP access platform (DESIGN §11): settings (``config.py``), the
registry of devices and channels with typed verdict events (``registry.py``, ``state.py``), the
pure verdict rule (``verdict.py``), the password throttle (``guard.py``) and the server
(``platform.py``). The SIP and MANSCDP code is in ``probes.gb28181``."""
