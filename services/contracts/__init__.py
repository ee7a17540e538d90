"""contracts: customer numbers from the CRM, links, permissions, authorised contacts
(CON-1…CON-7).

- domain/: the aggregates, value objects, errors.py and commands.py (what a use case takes)
- store.py: the repository (the write side's only MongoDB calls); views.py: the reads
- handlers/: the use cases ``(cmd, uow: Contracts)``, that unit in handlers/__init__.py
- http/: the routes, their request and response models (models.py, contact_models.py)
- consumers.py: one subscription table and the models of the events read; events.py: the
  events published (and the CRM's ones contracts owns), envelopes built there
- settings.py, app.py (wiring), __main__.py; adapters: none
"""
