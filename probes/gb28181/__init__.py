"""GB/T 28181 signalling, pure: SIP messages (:mod:`.sip`, :mod:`.fields`), Digest
authentication (:mod:`.digest`) and MANSCDP XML bodies (:mod:`.manscdp`, :mod:`.bodies`).
Only :mod:`.transport` does I/O (asyncio UDP and TCP). The access platform that uses them
lives in ``collector.gb28181``; the device simulator in ``probes.sim.gb28181_sim``."""
