"""A simulated camera fleet: N RTSP + ONVIF cameras on loopback addresses, each with a
behaviour (up, down, hang, slow, auth modes, lockout, 453, skew, flapping, garbage...) that can
be changed while it runs. Used by tests, ``camwatch demo`` and the benchmarks.

    with Fleet(20, workers=2) as fleet:
        fleet.set_behaviour([3, 4], Behaviour(power=Power.DOWN))
        cam = fleet.camera(0)  # SimCamera(host="127.20.0.1", rtsp_port=8554, ...)
"""

from probes.sim.behaviour import Auth, Behaviour, BehaviourError, Picture, Power, Reply
from probes.sim.fleet import MAX_CAMERAS_PER_WORKER, Fleet, FleetError
from probes.sim.identity import DeviceIdentity, SimCamera, address_for, identity_for
from probes.sim.stats import CameraStats, FleetStats

__all__ = [
    "MAX_CAMERAS_PER_WORKER",
    "Auth",
    "Behaviour",
    "BehaviourError",
    "CameraStats",
    "DeviceIdentity",
    "Fleet",
    "FleetError",
    "FleetStats",
    "Picture",
    "Power",
    "Reply",
    "SimCamera",
    "address_for",
    "identity_for",
]
