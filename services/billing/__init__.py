"""billing: billing details, payment methods, subscriptions and invoices (BIL-1…BIL-7).

- domain/: the aggregates, value objects, errors.py and commands.py (what a use case takes)
- store.py: the repository (the write side's only MongoDB calls); views.py: the reads
- handlers.py: the use cases ``(cmd, uow: Billing)`` and that unit of dependencies
- http/: the routes, their request bodies (http/models.py) and response models
- consumers.py: one subscription table and the models of the events read; events.py: the
  events published (and the outside systems' ones billing owns), envelopes built there
- settings.py, app.py (wiring), __main__.py; adapters: payment_provider.py (card provider)
"""
