"""Access to the privacy pages of a signed-in user's own account."""

from clients.decorators import own_data_required

# A user's own privacy pages: open to the users of a suspended client too.
account_required = own_data_required(allow_suspended=True)
