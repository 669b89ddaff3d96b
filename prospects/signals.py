"""What prospects tells the apps above it (which it must not import): they connect receivers.

Both are sent by prospects/services.py inside the service's transaction; a receiver that acts
on the outside world (devices sends push notifications) waits for the commit itself.
"""

from django.dispatch import Signal

# Prospects got a new owner (created with one, the owner changed, a bulk assignment; not sent
# when they are unassigned): `prospects` (the Prospect rows whose owner changed; a bulk
# assignment is one signal), `owner` (the user they now belong to), `actor` (who did it, who
# may be the owner).
prospects_assigned = Signal()

# A visit was planned for a user or changed: `visit`, `actor` (who did it, who may be the
# visit's user), and `change`: "planned" or "cancelled".
visit_changed = Signal()

# A prospect was erased (prospects.services.prospect_erase): `prospect` (still with its pk,
# public id and client), `visit_ids` (the public ids of its visits). Copies of it kept above
# (the mobile API's stored answers for retried requests) go too.
prospect_erased = Signal()
