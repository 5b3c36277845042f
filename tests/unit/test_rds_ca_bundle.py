"""The projector verifies the database's certificate: verify-full against the RDS certificate
authorities the layer carries (docs/decisions/0022-rds-ca-bundle.md)."""

from __future__ import annotations

import datetime
import importlib.util
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID
from psycopg.conninfo import conninfo_to_dict

from gatepass.readmodel import database as read_model
from gatepass.readmodel.database import RDS_CA_BUNDLE, database_url, projector_database
from gatepass.settings.cognito_post_confirmation import CognitoPostConfirmationSettings
from gatepass.settings.projector import ProjectorSettings

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
# ProjectorFunction's environment on AWS (template.yaml): its own role, IAM tokens, no secret.
ON_AWS = {
    "DATABASE_HOST": "db.abc.eu-west-1.rds.amazonaws.com",
    "DATABASE_PORT": "5432",
    "DATABASE_NAME": "gatepass",
    "DATABASE_USER": "gatepass_projector",
    "DATABASE_IAM_AUTH": "true",
    "DATABASE_SSLMODE": "verify-full",
    "AWS_REGION": "eu-west-1",
}
ROOT_CA = re.compile(r"Amazon RDS ([a-z]{2}(?:-[a-z]+)+-\d) Root CA (RSA2048|RSA4096|ECC384) G1")


def _certificates() -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates(RDS_CA_BUNDLE.read_bytes())


def _cn(name: x509.Name) -> str:
    return str(name.get_attributes_for_oid(NameOID.COMMON_NAME)[0].value)


class _Stop(Exception):
    pass


def test_by_default_the_projector_verifies_the_server_against_the_bundle() -> None:
    # Given the projector's environment without DATABASE_SSLMODE
    environ = {k: v for k, v in ON_AWS.items() if k != "DATABASE_SSLMODE"}
    for model in (ProjectorSettings, CognitoPostConfirmationSettings):
        # When it builds its URL, Then libpq must verify the host name and the chain
        url = database_url(model.load(environ=environ))
        assert url.endswith(f"/gatepass?sslmode=verify-full&sslrootcert={RDS_CA_BUNDLE}")


def test_the_connection_libpq_gets_demands_verify_full_with_the_bundle(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Given AWS credentials to sign the IAM token, and the projector's database on AWS
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    database = projector_database(ProjectorSettings.load(environ=ON_AWS))
    seen: dict[str, Any] = {}

    def connect(conninfo: str, **options: Any) -> None:
        seen.update(conninfo_to_dict(conninfo, **options))
        raise _Stop

    monkeypatch.setattr(read_model.psycopg, "connect", connect)

    # When it opens a connection
    with pytest.raises(_Stop), database.begin():
        pass

    # Then libpq is asked for verify-full against the bundle the layer ships, as the projector's
    # role with a fresh IAM token for a password
    assert seen["sslmode"] == "verify-full"
    assert seen["sslrootcert"] == str(RDS_CA_BUNDLE)
    assert seen["user"] == "gatepass_projector"
    assert seen["host"] == "db.abc.eu-west-1.rds.amazonaws.com"
    assert "Action=connect" in seen["password"]
    assert "DBUser=gatepass_projector" in seen["password"]
    assert Path(seen["sslrootcert"]).is_file()


def test_the_bundle_is_the_rds_root_authorities_and_none_has_expired() -> None:
    certificates = _certificates()
    now = datetime.datetime.now(datetime.UTC)
    found: dict[str, set[str]] = {}
    for cert in certificates:
        # Each is a self-signed RDS root, valid now, with a key of the kind its name says
        subject = _cn(cert.subject)
        match = ROOT_CA.fullmatch(subject)
        assert match, subject
        assert cert.issuer == cert.subject, subject
        assert cert.not_valid_before_utc <= now < cert.not_valid_after_utc, subject
        # The earliest to expire, the RSA2048 roots, run to 2061: a year's margin at least.
        assert cert.not_valid_after_utc > now + datetime.timedelta(days=365), subject
        key = cert.public_key()
        assert isinstance(key, ec.EllipticCurvePublicKey if "ECC" in subject else rsa.RSAPublicKey)
        region, kind = match.groups()
        found.setdefault(region, set()).add(kind)

    # And every region has its three authorities, the ones the RDS documentation names
    assert all(kinds == {"RSA2048", "RSA4096", "ECC384"} for kinds in found.values()), found
    assert {"us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"} <= set(found)
    assert len(certificates) == 3 * len(found)


def test_openssl_loads_every_authority_of_the_bundle() -> None:
    # libpq reads sslrootcert with OpenSSL, as Python's ssl does: the comment lines between the
    # certificates are skipped and every certificate becomes a trusted authority.
    context = ssl.create_default_context(cafile=str(RDS_CA_BUNDLE))
    assert len(context.get_ca_certs()) == len(_certificates())


def test_the_bundle_is_what_the_refresh_tool_writes() -> None:
    # The committed file is the tool's output (so a refresh is a clean diff), and reproducible.
    spec = importlib.util.spec_from_file_location("rds_ca_bundle", ROOT / "tools/rds_ca_bundle.py")
    assert spec
    assert spec.loader
    tool = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(tool)
    now = datetime.datetime.now(datetime.UTC)
    assert tool.bundle(RDS_CA_BUNDLE.read_bytes(), now) == RDS_CA_BUNDLE.read_text()
