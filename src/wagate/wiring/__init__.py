"""The composition root: what a process builds at start-up, for the API, the worker and
the portal alike.

:mod:`~wagate.wiring.app_context` opens the shared resources and builds the
services; :mod:`~wagate.wiring.lanes` builds the worker's lanes over them and runs
them. The rest is process plumbing every server process uses: the garbage
collector's settings (:mod:`~wagate.wiring.heap`), the open-files limit
(:mod:`~wagate.wiring.open_files`) and the wake-up pipes between the API and its
worker children (:mod:`~wagate.wiring.wake_pipes`).
"""
