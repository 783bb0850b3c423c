"""wagate: a self-hostable WhatsApp Business gateway."""

__version__ = "0.1.0"
