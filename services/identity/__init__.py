"""identity: registration, login, tokens and users of customer companies (ID-1…ID-14)."""
