"""identity: registration, login, tokens and users of customer companies (ID-1…ID-14).

- domain/: the aggregates, value objects, errors.py and commands.py (what a use case takes)
- store/: the repositories (the write side's only MongoDB calls); views/: the reads
- handlers/: the use cases ``(cmd, identity: Identity)``, that unit in handlers/__init__.py
- http/: the routes, their request and response models (models.py, invitation_models.py, ...)
- consumers.py: one subscription table and the models of the events read; events.py (and
  reset_code_events.py): the events published
- settings.py, app.py (wiring), __main__.py; adapters: tokens.py (signing keys, JWTs; keys.py
  its command line), import_runner.py and import_worker.py (invitation imports off requests)
"""
