"""contracts' HTTP API, one module per resource: ``contracts`` (the contract space, links,
contracts), ``permissions`` (transfers, sub-administrators), ``support`` (a new one-time
password), ``contacts`` (authorised contacts and support's questions about them). Each route
parses (the kit's ``Routes``), calls a use case (handlers) or a query (views), and answers
the model views.py built. ``routes.py`` gathers them; ``models.py`` and ``contact_models.py``
hold the request and response models."""
