"""csbridge: customer-health sync between product usage, support, and the CRM."""

__version__ = "0.1.0"
