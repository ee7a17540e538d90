"""notifications: every email and SMS of the platform in German, English and Hungarian
(NOT-1…NOT-4)."""
