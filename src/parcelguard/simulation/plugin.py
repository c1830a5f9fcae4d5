"""simulation: the synthetic worlds and the demo pipeline (core/plugin.py)."""

from parcelguard.core.lazy_cli import Lazy
from parcelguard.core.plugin import Plugin

PLUGIN = Plugin("simulation", commands={
    "demo": Lazy("parcelguard.simulation.cli:app", "Build a simulated logistics world with "
                 "injected abuse and run the whole supervision mechanism on it;",
                 command="demo"),
    "world2": Lazy("parcelguard.simulation.cli:app", "Generate the second, independent world "
                   "(simulation/world2): contract-valid events and a ground truth",
                   command="world2"),
})
