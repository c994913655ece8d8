"""The delivery layer: every message Pulse sends to people (docs/architecture.md, "Delivery")."""
