"""csbridge."""
