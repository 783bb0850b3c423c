"""Callback delivery: render, sign, send, and guard against SSRF."""
