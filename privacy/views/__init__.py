"""The privacy app's views: one module per area (requests, archive, support, closure,
preferences, unsubscribe, notices)."""
