"""Sign-in rules with in-memory stand-ins: code shape, hashing, and the authorizer's policy."""

from __future__ import annotations

import pytest

from gatepass import tokens
from gatepass.dal.sign_in import SendDecision, StoredCode
from gatepass.errors import InvalidSignInCode, RateLimited, Unauthorized
from gatepass.logic import sign_in

pytestmark = pytest.mark.unit

KEY = b"h" * 32
SIGNER = tokens.LocalSigner.generate()
PUBLIC = SIGNER.verifying_key()


class FixedKeys:
    """Session keys without Secrets Manager or KMS: a code key and a local signing key."""

    def sign_in_code(self) -> bytes:
        return KEY

    def session_signer(self) -> tokens.Signer:
        return SIGNER

    def session_verifying_key(self) -> tokens.VerifyingKey:
        return PUBLIC


KEYS = FixedKeys()
POLICY = sign_in.SignInPolicy(
    code_ttl_seconds=300, max_attempts=5, max_sends_per_hour=5, session_ttl_seconds=3600
)


class MemoryStore:
    def __init__(self, status: str | None = "active", allowed: bool = True) -> None:
        self.status = status
        self.allowed = allowed
        self.codes: dict[str, StoredCode] = {}

    def subscription_status(self, email: str) -> str | None:
        return self.status

    def register_send(self, email: str, *, now: int, limit: int) -> SendDecision:
        return SendDecision(self.allowed, 0 if self.allowed else 1234)

    def put_code(self, email: str, *, code_hash: str, created_at: str, expires_at: int) -> None:
        self.codes[email] = StoredCode(code_hash, 0, expires_at)

    def reserve_attempt(self, email: str, *, now: int, max_attempts: int) -> StoredCode | None:
        stored = self.codes.get(email)
        if stored is None or stored.attempts >= max_attempts or stored.expires_at <= now:
            return None
        self.codes[email] = StoredCode(stored.code_hash, stored.attempts + 1, stored.expires_at)
        return self.codes[email]

    def consume_code(self, email: str, *, code_hash: str) -> bool:
        stored = self.codes.get(email)
        if stored is None or stored.code_hash != code_hash:
            return False
        del self.codes[email]
        return True


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, recipient: str, subject: str, text: str) -> None:
        self.sent.append((recipient, subject, text))


def send(store: MemoryStore, outbox: Outbox, email: str = "a@example.com") -> None:
    sign_in.send_code(email, store=store, mailer=outbox, keys=KEYS, policy=POLICY)


@pytest.mark.parametrize(("draw", "code"), [(0, "000000"), (42, "000042"), (999_999, "999999")])
def test_codes_are_six_zero_padded_digits(
    monkeypatch: pytest.MonkeyPatch, draw: int, code: str
) -> None:
    monkeypatch.setattr(sign_in.secrets, "randbelow", lambda bound: draw)

    assert sign_in.new_code() == code


def test_hash_depends_on_key_address_and_code_and_hides_the_code() -> None:
    base = sign_in.hash_code(KEY, "a@example.com", "123456")

    assert "123456" not in base
    assert len(base) == 64
    assert base != sign_in.hash_code(b"o" * 32, "a@example.com", "123456")
    assert base != sign_in.hash_code(KEY, "b@example.com", "123456")
    assert base != sign_in.hash_code(KEY, "a@example.com", "123457")


def test_mail_carries_the_code_that_was_hashed() -> None:
    store, outbox = MemoryStore(), Outbox()

    send(store, outbox)

    [(recipient, _subject, text)] = outbox.sent
    code = text.split("code is ")[1][:6]
    assert recipient == "a@example.com"
    assert store.codes["a@example.com"].code_hash == sign_in.hash_code(KEY, "a@example.com", code)
    assert "5 minutes" in text


def test_rate_limit_is_checked_before_anything_is_sent() -> None:
    store, outbox = MemoryStore(allowed=False), Outbox()

    with pytest.raises(RateLimited) as refused:
        send(store, outbox)

    assert refused.value.headers == {"Retry-After": "1234"}
    assert outbox.sent == []
    assert store.codes == {}


def test_code_with_spaces_around_it_is_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    store, outbox = MemoryStore(), Outbox()
    monkeypatch.setattr(sign_in, "new_code", lambda: "012345")
    send(store, outbox)

    answer = sign_in.verify_code(
        "a@example.com",
        " 012345 ",
        store=store,
        keys=KEYS,
        policy=POLICY,
    )

    assert tokens.verify_session_token(PUBLIC, answer.token).subject == "a@example.com"


def test_wrong_code_is_refused_generically() -> None:
    store, outbox = MemoryStore(), Outbox()
    send(store, outbox)

    with pytest.raises(InvalidSignInCode) as refused:
        sign_in.verify_code(
            "a@example.com",
            "abcdef",
            store=store,
            keys=KEYS,
            policy=POLICY,
        )

    assert refused.value.status == 401
    assert refused.value.message == sign_in.INVALID_CODE_MESSAGE


def test_authorizer_policy_names_the_stage_of_any_partition() -> None:
    token = tokens.issue_session_token(SIGNER, "a@example.com", ttl_seconds=60).token
    arn = "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/staging/GET/events/x"

    policy = sign_in.authorize(f"Bearer {token}", arn, keys=KEYS)

    statement = policy.model_dump(by_alias=True)["policyDocument"]["Statement"][0]
    assert statement["Resource"] == (
        "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/staging/*/*"
    )


def test_authorizer_refuses_a_missing_header() -> None:
    with pytest.raises(Unauthorized):
        sign_in.authorize(None, "arn:aws:execute-api:us-east-1:123456789012:a/dev/GET/x", keys=KEYS)
