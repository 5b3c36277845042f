"""The rules, one module per domain. Logic receives its data access; it never builds clients."""
