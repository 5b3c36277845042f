"""Gatepass shared domain package: models, logic, data access, tokens, imaging and QR.

Shipped to the functions as the SharedLayer and installed into the web container.
"""

__version__ = "0.1.0"
