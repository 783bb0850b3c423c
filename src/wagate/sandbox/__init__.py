"""An emulator of the Meta Graph endpoints wagate uses, with fault injection.

It imports nothing of the gateway but the domain and the settings, so the same
client code talks to it and to graph.facebook.com.
"""

from wagate.sandbox.app import create_sandbox_app
from wagate.sandbox.faults import Faults
from wagate.sandbox.server import run_sandbox, serve_sandbox

__all__ = ["Faults", "create_sandbox_app", "run_sandbox", "serve_sandbox"]
