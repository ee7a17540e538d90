"""billing: billing details, payment methods, subscriptions and invoices (BIL-1…BIL-7)."""
