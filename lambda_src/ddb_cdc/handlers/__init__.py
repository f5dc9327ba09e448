"""Lambda entry points: parse the event and environment, call the core, shape the response."""
