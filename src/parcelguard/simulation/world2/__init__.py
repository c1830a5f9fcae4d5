"""A second world generator, written from the event contract
(``shared/contracts/event.schema.json``) and the domain notes, not from the monitor's
code nor from ``simulation/``'s world: its own rhythms, roles, abuse and benign
look-alikes, so detection figures measured on it are not figures of the simulator
the detectors were tuned on.

``generate(Params(seed=...))`` returns contract-valid events (v2: no field outside
the contract) in time order, and ``write(world, events_path, truth_path)`` writes
them with a ground truth that ``parcelguard monitor evaluate`` reads: the injected
abuse as ``scenarios`` and the benign look-alikes (which must never be flagged) as
``lookalikes``, both with their exact event ids.
"""

from parcelguard.simulation.world2.generate import Params, World2, generate, write

__all__ = ["Params", "World2", "generate", "write"]
