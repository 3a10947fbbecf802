"""Everything about Mixpanel: client and the raw-export usage stream with its parsing."""
