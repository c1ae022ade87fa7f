"""The two flows: the responder (one event) and the backstop (a scheduled check)."""
