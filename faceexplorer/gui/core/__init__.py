"""The application core every view stands on: background tasks (and, as they land, the
index session and the app state)."""
