"""Glia beside Synapse on the same machine, in one run (``python -m bench``).

Everything here talks to the servers through their public HTTP APIs only, on 127.0.0.1,
so the numbers say what a client or an admin tool would see.
"""
