"""The engine floor (docs/architecture.md, "Layers"): computations on the vocabulary, below the
reads and writes that use them. A round's counts read and rolled up (`aggregation`), scores and
colours from published counts (`scoring`), whether they changed (`changes`), when rounds open
and close (`scheduling`). The privacy engine, `surveys/privacy/`, is on this floor too.
"""
