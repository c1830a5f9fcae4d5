"""``parcelguard demo --federated``: the demo's mechanism across separate nodes.

Six `parcelguard node serve` processes, each with its own home, SQLite database and
keys, on loopback ports with mutual TLS (docs/deployment.md): three enterprise nodes
(the world's carriers), the supervision node, the police node and an auditor node.
The demo process plays the people at each party: the carriers' systems write their
traffic into their own node's store and their officers file the reports; the
department's officers order interventions and refer cases; the auditor and the
police ask for data. Everything that crosses between parties goes the nodes' way:
logs as C2SP tlog-tiles mirrored and cosigned, messages as signed envelopes from the
senders' outboxes (node/relay.py queues what a carrier's records owe, node/effects.py
is what a receipt changes).

Stages:

1. set-up: a private CA, six nodes, the signed directory, six processes;
2. day 1: the carriers ingest their traffic; the supervision node mirrors every log,
   the three witnesses cosign the checkpoints; the department grants the audit;
3. the partition drill: the supervision node is stopped while the carriers go on with
   day 2 (traffic, their monitors' alerts, incidents, reports filed, data asked and
   answered directly between carrier and auditor); the reports wait in the carriers'
   outboxes. It is restarted and catches up: the mirror from the tiles, the messages
   from the outboxes. (``kill``: a node is also killed -9 at a random point of the
   catching up, and started again.)
4. the department acts: an intervention ordered per incident reported (applied and
   acknowledged by the carrier's node in the receipt's transaction), insider cases
   referred to the police, who ask the carrier for data;
5. tamper attempts: a forged envelope, a borrowed TLS certificate, a replay, a log
   rewritten in a carrier's database; each refused or caught, by a named node;
6. the cross-node figures, also in ``<out>/federated.json``.

Every process started is stopped at the end, on an error and on Ctrl-C.
"""

from parcelguard.simulation.federated.fed import FederatedError, FederatedOptions
from parcelguard.simulation.federated.figures import find_plaintext, pi_values
from parcelguard.simulation.federated.run import run_federated

__all__ = ["FederatedError", "FederatedOptions", "find_plaintext", "pi_values", "run_federated"]
