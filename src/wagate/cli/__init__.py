"""Operator commands: ``wagate serve``, ``wagate migrate``, tenants, and the demo."""
