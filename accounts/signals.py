"""What accounts tells the apps above it (which it must not import): they connect receivers."""

from django.dispatch import Signal

# Sent by services.user_deactivate inside its transaction, after the user's sessions ended:
# `target` (the user), `acting_user` (who did it, or None for the system). devices revokes
# the user's devices here.
user_deactivated = Signal()
