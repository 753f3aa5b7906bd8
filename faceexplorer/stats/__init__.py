"""Statistics on the index: crowd agreement, AU metrics, DASS-21 scoring, model metrics."""
