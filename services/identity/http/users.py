"""User administration routes (ID-2, ID-7, ID-11, ID-12): written by the users work package."""
