"""Security (docs/security.md): keys, the access policy, the audit trail, sealed fields."""
