"""notifications's domain: rules and value objects, no I/O."""
