"""Write the RDS certificate authorities the projector (and the web image) trust.

Reads PEM files (AWS's https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem, or any
copy of it) and keeps the self-signed "Amazon RDS <region> Root CA ..." certificates that are
valid now, without the Beta and Preview environments' roots, sorted by subject. The result is
layers/gatepass/readmodel/rds-ca-bundle.pem; docs/decisions/0022-rds-ca-bundle.md says where the
committed copy came from and how to refresh it:

    .venv/bin/python tools/rds_ca_bundle.py global-bundle.pem \
        > layers/gatepass/readmodel/rds-ca-bundle.pem
"""

from __future__ import annotations

import argparse
import datetime
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.x509.oid import NameOID

HEADER = """\
Amazon RDS root certificate authorities, one a region (RSA2048 G1, RSA4096 G1, ECC384 G1).
Public certificates, not secrets. Written by tools/rds_ca_bundle.py from AWS's global bundle;
where it came from and how to refresh it: docs/decisions/0022-rds-ca-bundle.md.
"""


def common_name(name: x509.Name) -> str:
    return ", ".join(str(a.value) for a in name.get_attributes_for_oid(NameOID.COMMON_NAME))


def is_rds_root(cert: x509.Certificate, now: datetime.datetime) -> bool:
    subject = common_name(cert.subject)
    return (
        cert.subject == cert.issuer
        and subject.startswith("Amazon RDS ")
        and " Root CA " in subject
        and not any(word in subject.split() for word in ("Beta", "Preview"))
        and cert.not_valid_before_utc <= now < cert.not_valid_after_utc
    )


def bundle(pem: bytes, now: datetime.datetime) -> str:
    # Each certificate once, however many copies the inputs hold.
    certs = {c.fingerprint(hashes.SHA256()): c for c in x509.load_pem_x509_certificates(pem)}
    kept = sorted(
        (c for c in certs.values() if is_rds_root(c, now)),
        key=lambda c: (common_name(c.subject), c.not_valid_after_utc),
    )
    return HEADER + "".join(
        f"\n# {common_name(c.subject)} (until {c.not_valid_after_utc:%Y-%m-%d})\n"
        + c.public_bytes(Encoding.PEM).decode()
        for c in kept
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("pem", nargs="+", type=Path, help="PEM files to read")
    args = parser.parse_args(argv)
    pem = b"\n".join(path.read_bytes() for path in args.pem)
    sys.stdout.write(bundle(pem, datetime.datetime.now(datetime.UTC)))


if __name__ == "__main__":
    main()
