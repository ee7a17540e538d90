"""identity's read side: queries straight from MongoDB into what the API answers."""
