"""Plain-Python core of wagate: ids, media rules, the upload state machine, errors.

Nothing here imports a web framework, a database driver or an HTTP client.
"""
