"""Who may use each route: the access policy the matrix holds the app to.

``public``: anyone, no log-in. ``portal:<name>``: a staff cookie of that portal's
roles. Otherwise the API roles that get past authorisation (a role not listed must
be refused). A route that is not in this table fails the matrix: classify it the
day it lands.
"""

from __future__ import annotations

ACCESS: dict[str, str] = {
}
