"""The ground floor (docs/architecture.md, "Layers"): what every other floor stands on, knowing
nothing of the product above it. The organisation in scope and the fail-closed manager
(`tenancy`), the one error type a user can cause (`exceptions`), link tokens (`tokens`), names,
ids and CSV cells as people type them, set-based writes (`bulk`), integer tables fetched in one
round trip (`int_tables`), queueing work after a commit (`enqueue`), redacting links from logs
and printed mail, the database roles row-level security needs, and phase timing.
"""
