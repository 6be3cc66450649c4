"""One ComponentResource per platform concern."""
