"""tooflow."""
