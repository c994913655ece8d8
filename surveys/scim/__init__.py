"""SCIM 2.0 provisioning at /scim/v2/ (docs/architecture.md, "An identity provider provisions")."""
