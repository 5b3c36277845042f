"""Sign-in rules with in-memory stand-ins: code shape, hashing, and the authorizer's policy."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest

from gatepass import tokens
from gatepass.dal.sign_in import StoredCode, StoredLink, TryDecision
from gatepass.errors import (
    CodeTriesExhausted,
    InvalidSignInCode,
    InvalidSignInLink,
    SignInLinkOtherBrowser,
    SignInLinkUsed,
    Unauthorized,
)
from gatepass.logic import sign_in
from gatepass.logic.sessions import start_session
from gatepass.models.sessions import SessionPolicy, SessionRecord, SessionState

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
    code_ttl_seconds=600, max_attempts=5, code_tries_per_month=90, session_ttl_seconds=3600
)
SITE = "https://tickets.example.com"


class MemoryStore:
    def __init__(self, deliverable: bool = True, slot: bool = True) -> None:
        self.can_deliver = deliverable
        self.slot = slot
        self.codes: dict[str, StoredCode] = {}
        self.links: dict[str, StoredLink] = {}
        self.browsers: dict[tuple[str, str], int] = {}
        self.tries: list[int] = []
        self.calls: list[str] = []

    def bind_browser(self, email: str, *, browser_hash: str, until: int) -> None:
        self.calls.append("bind_browser")
        self.browsers[(email, browser_hash)] = until

    def claim_mail_slot(self, email: str, *, now: int, interval: int) -> bool:
        self.calls.append("claim_mail_slot")
        return self.slot

    def deliverable(self, email: str) -> bool:
        self.calls.append("deliverable")
        return self.can_deliver

    def put_mail(
        self, email: str, *, code_hash: str, link_hash: str, created_at: str, expires_at: int
    ) -> None:
        self.calls.append("put_mail")
        self.codes[email] = StoredCode(code_hash, 0, expires_at, link_hash)
        self.links[link_hash] = StoredLink(email, expires_at, used=False)

    def count_code_try(self, email: str, *, now: int, window: int, limit: int) -> TryDecision:
        if len(self.tries) >= limit:
            return TryDecision(False, 99)
        self.tries.append(now)
        return TryDecision(True)

    def reserve_attempt(self, email: str, *, now: int, max_attempts: int) -> StoredCode | None:
        stored = self.codes.get(email)
        if stored is None or stored.attempts >= max_attempts or stored.expires_at <= now:
            return None
        self.codes[email] = StoredCode(
            stored.code_hash, stored.attempts + 1, stored.expires_at, stored.link_hash
        )
        return self.codes[email]

    def consume_code(self, email: str, *, code_hash: str) -> bool:
        stored = self.codes.get(email)
        if stored is None or stored.code_hash != code_hash:
            return False
        del self.codes[email]
        return True

    def find_link(self, link_hash: str) -> StoredLink | None:
        return self.links.get(link_hash)

    def browser_bound(self, email: str, *, browser_hash: str, now: int) -> bool:
        return self.browsers.get((email, browser_hash), 0) > now

    def consume_link(self, link_hash: str, *, now: int, used_at: str) -> bool:
        link = self.links.get(link_hash)
        if link is None:
            return False
        if link.used or link.expires_at <= now:
            return False
        self.links[link_hash] = StoredLink(link.email, link.expires_at, used=True)
        return True

    def drop_code(self, email: str) -> None:
        self.codes.pop(email, None)


class MemorySessions:
    """The session store in a dict: what a sign-in starts and the authorizer reads."""

    def __init__(self) -> None:
        self.sessions: dict[tuple[str, str], SessionRecord] = {}
        self.valid_after: dict[str, int] = {}

    def create(self, record: SessionRecord) -> None:
        self.sessions[(record.person, record.session_id)] = record

    def state(self, person: str, session_id: str) -> SessionState:
        return SessionState(self.sessions.get((person, session_id)), self.valid_after.get(person))

    def touch(
        self, person: str, session_id: str, *, now: int, stale_before: int, idle_expires_at: int
    ) -> bool:
        record = self.sessions[(person, session_id)]
        self.sessions[(person, session_id)] = replace(
            record, last_seen_at=now, idle_expires_at=idle_expires_at
        )
        return True

    def end(self, person: str, session_id: str, *, now: int) -> bool:
        record = self.sessions.get((person, session_id))
        if record is None or record.ended_at is not None:
            return False
        self.sessions[(person, session_id)] = replace(record, ended_at=now)
        return True

    def end_all(self, person: str, *, now: int, keep_until: int) -> None:
        self.valid_after[person] = max(now, self.valid_after.get(person, 0))


SESSIONS = MemorySessions()


class Outbox:
    def __init__(self) -> None:
        self.sent: list[tuple[str, str, str]] = []

    def send(self, recipient: str, subject: str, text: str) -> None:
        self.sent.append((recipient, subject, text))


class StandInRecorder:
    def __init__(self) -> None:
        self.timed_calls = 0
        self.waits = 0

    def timed(self, call: Any) -> Any:
        self.timed_calls += 1
        return call()

    def wait(self) -> None:
        self.waits += 1


BROWSER = "b" * 43


def send(
    store: MemoryStore,
    outbox: Outbox,
    email: str = "a@example.com",
    stand_in: Any = None,
    browser: str | None = BROWSER,
) -> None:
    sign_in.send_code(
        email,
        browser=browser,
        store=store,
        mailer=outbox,
        keys=KEYS,
        policy=POLICY,
        site=SITE,
        mail_time=stand_in or StandInRecorder(),
    )


def link_token(text: str) -> str:
    return text.split(f"{SITE}/signin/link?token=")[1].split()[0]


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


def test_mail_carries_the_code_and_the_link_that_were_hashed() -> None:
    store, outbox = MemoryStore(), Outbox()

    send(store, outbox)

    [(recipient, _subject, text)] = outbox.sent
    code = text.split("enter this code: ")[1][:6]
    token = link_token(text)
    assert recipient == "a@example.com"
    assert store.codes["a@example.com"].code_hash == sign_in.hash_code(KEY, "a@example.com", code)
    assert set(store.links) == {sign_in.digest(token)}
    assert len(token) >= 43
    assert "10 minutes" in text


def test_within_the_mail_interval_nothing_is_written_or_sent_and_the_answer_is_the_same() -> None:
    store, outbox, stand_in = MemoryStore(slot=False), Outbox(), StandInRecorder()

    send(store, outbox, stand_in=stand_in)

    assert outbox.sent == []
    assert store.codes == {}
    assert store.links == {}
    # The browser is still bound: the mail already in the inbox signs it in.
    assert store.calls == ["bind_browser", "claim_mail_slot"]


def test_an_address_that_cannot_receive_mail_costs_the_same_work_and_is_sent_nothing() -> None:
    # Given one address that can receive mail and one that cannot
    known, unknown = MemoryStore(), MemoryStore(deliverable=False)
    known_time, unknown_time = StandInRecorder(), StandInRecorder()
    known_box, unknown_box = Outbox(), Outbox()

    # When both ask for sign-in mail
    send(known, known_box, stand_in=known_time)
    send(unknown, unknown_box, stand_in=unknown_time)

    # Then both did the same storage work, only one mail went out, and the other waited as
    # long as sending takes instead
    assert known.calls == unknown.calls
    assert (len(known_box.sent), len(unknown_box.sent)) == (1, 0)
    assert (known_time.timed_calls, known_time.waits) == (1, 0)
    assert (unknown_time.timed_calls, unknown_time.waits) == (0, 1)


def test_the_link_signs_in_the_browser_that_asked_once() -> None:
    store, outbox = MemoryStore(), Outbox()
    send(store, outbox)
    token = link_token(outbox.sent[0][2])

    answer = sign_in.verify_link(
        token, BROWSER, store=store, keys=KEYS, policy=POLICY, sessions=SESSIONS
    )

    claims = tokens.verify_session_token(PUBLIC, answer.token)
    assert (claims.subject, claims.methods) == ("a@example.com", ("link-email",))
    assert store.codes == {}
    with pytest.raises(SignInLinkUsed):
        sign_in.verify_link(
            token, BROWSER, store=store, keys=KEYS, policy=POLICY, sessions=SESSIONS
        )


def test_the_link_is_refused_in_another_browser_and_stays_usable() -> None:
    store, outbox = MemoryStore(), Outbox()
    send(store, outbox)
    token = link_token(outbox.sent[0][2])

    with pytest.raises(SignInLinkOtherBrowser):
        sign_in.verify_link(
            token, "o" * 43, store=store, keys=KEYS, policy=POLICY, sessions=SESSIONS
        )

    assert sign_in.verify_link(
        token, BROWSER, store=store, keys=KEYS, policy=POLICY, sessions=SESSIONS
    ).token


def test_an_unknown_link_is_refused() -> None:
    with pytest.raises(InvalidSignInLink):
        sign_in.verify_link(
            "x" * 43, BROWSER, store=MemoryStore(), keys=KEYS, policy=POLICY, sessions=SESSIONS
        )


def test_code_tries_stop_at_the_monthly_bound_even_with_the_right_code(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store, outbox = MemoryStore(), Outbox()
    monkeypatch.setattr(sign_in, "new_code", lambda: "012345")
    send(store, outbox)
    store.tries = [0] * POLICY.code_tries_per_month

    with pytest.raises(CodeTriesExhausted) as refused:
        sign_in.verify_code(
            "a@example.com", "012345", store=store, keys=KEYS, policy=POLICY, sessions=SESSIONS
        )

    assert (refused.value.status, refused.value.code) == (429, "code_tries_exhausted")
    assert "a@example.com" in store.codes


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
        sessions=SESSIONS,
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
            sessions=SESSIONS,
        )

    assert refused.value.status == 401
    assert refused.value.message == sign_in.INVALID_CODE_MESSAGE


def test_authorizer_policy_names_the_stage_of_any_partition() -> None:
    token = start_session(
        "a@example.com",
        methods=("otp-email",),
        signer=SIGNER,
        store=SESSIONS,
        policy=SessionPolicy(),
    ).token
    arn = "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/staging/GET/events/x"

    policy = sign_in.authorize(
        f"Bearer {token}", arn, keys=KEYS, sessions=SESSIONS, policy=SessionPolicy()
    )

    statement = policy.model_dump(by_alias=True)["policyDocument"]["Statement"][0]
    assert statement["Resource"] == (
        "arn:aws-cn:execute-api:cn-north-1:123456789012:abc123/staging/*/*"
    )


def test_authorizer_refuses_a_missing_header() -> None:
    with pytest.raises(Unauthorized):
        sign_in.authorize(
            None,
            "arn:aws:execute-api:us-east-1:123456789012:a/dev/GET/x",
            keys=KEYS,
            sessions=SESSIONS,
            policy=SessionPolicy(),
        )
