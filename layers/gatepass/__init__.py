"""Gatepass shared domain package: models, logic, data access, tokens, imaging and QR.

Shipped to the functions as the SharedLayer and installed into the web container.
"""

from gatepass import coldstart, dataclass_code, regex_code

__version__ = "0.1.0"

# In a Lambda environment, no cyclic collection until the first invocation ends (the init's
# objects live as long as the environment; gatepass.coldstart).
coldstart.pause()
# Where the layer carries them, dataclasses' methods compiled when it was built
# (gatepass.dataclass_code); before any module here defines a dataclass or imports pydantic.
dataclass_code.install()
# And regular expressions' programs (gatepass.regex_code), before the libraries compile theirs.
regex_code.install()
