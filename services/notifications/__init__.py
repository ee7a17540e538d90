"""notifications: every email and SMS of the platform in German, English and Hungarian
(NOT-1…NOT-4).

- domain/: the aggregates, value objects, errors.py and commands.py (what a use case takes)
- store.py: the repository (the write side's only MongoDB calls; shared.batching groups its
  writes); views.py: the reads, with their response models
- handlers.py: the use cases ``(cmd, uow: Notifications)`` and that unit of dependencies;
  sending.py: how one delivery is sent once
- http.py: the routes and their request models
- consumers.py: one subscription table and the models of the events read (outgoing.py: the
  message each asks for); events.py: the events published, envelopes built there
- settings.py, app.py (wiring), __main__.py; adapters: transports.py, smtp.py, mail.py,
  messages.py (templates), delivery_errors.py
"""
