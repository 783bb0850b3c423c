"""An emulator of the Meta Graph endpoints wagate uses, with fault injection.

It serves Meta's Resumable Upload API and the Cloud API's send endpoint, and
sends the gateway Meta's signed status and button webhooks about the messages.

It imports nothing of the gateway but the domain, and has settings of its own
(:class:`SandboxSettings`), so the same client code talks to it and to
graph.facebook.com.
"""

from wagate.sandbox.app import create_sandbox_app
from wagate.sandbox.faults import Faults
from wagate.sandbox.progression import AutoProgression
from wagate.sandbox.server import run_sandbox, serve_sandbox
from wagate.sandbox.settings import SandboxSettings

__all__ = [
    "AutoProgression",
    "Faults",
    "SandboxSettings",
    "create_sandbox_app",
    "run_sandbox",
    "serve_sandbox",
]
