"""The platform kit every service uses: config, logging, MongoDB, events, bus, relay, HTTP, auth.

A kit, not a framework: services call these functions and small classes; nothing here
imports from ``services``.
"""
