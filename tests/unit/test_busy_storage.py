"""A DynamoDB request that AWS still throttles after the SDK's retries is ``StorageUnavailable``
(answered 503 by every function), whatever the operation; other errors stay what they were."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber

from gatepass import clients
from gatepass.dal.storage import StorageUnavailable

pytestmark = pytest.mark.unit

BUSY = [
    "ProvisionedThroughputExceededException",
    "ThrottlingException",
    "RequestLimitExceeded",
    "InternalServerError",
]
READS: list[tuple[str, dict[str, Any]]] = [
    ("get_item", {"TableName": "t", "Key": {"pk": {"S": "EVENT#e"}, "sk": {"S": "EVENT"}}}),
    (
        "query",
        {
            "TableName": "t",
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": "EVENT#e"}},
        },
    ),
    ("batch_get_item", {"RequestItems": {"t": {"Keys": [{"pk": {"S": "a"}, "sk": {"S": "b"}}]}}}),
]


@pytest.fixture
def dynamodb(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    return clients.client_of("dynamodb")


@pytest.mark.parametrize("code", BUSY)
@pytest.mark.parametrize(("operation", "params"), READS, ids=[r[0] for r in READS])
def test_a_read_throttled_past_the_sdks_retries_is_storage_unavailable(
    dynamodb: Any, operation: str, params: dict[str, Any], code: str
) -> None:
    # Given DynamoDB answers the read with a capacity error (after botocore's own retries)
    with Stubber(dynamodb) as stub:
        stub.add_client_error(operation, service_error_code=code, http_status_code=400)

        # When the data layer reads, then it gets the storage error every function answers 503
        with pytest.raises(StorageUnavailable) as failed:
            getattr(dynamodb, operation)(**params)

    assert failed.value.throttled
    assert isinstance(failed.value.__cause__, ClientError)


def test_a_throttled_write_is_storage_unavailable_too(dynamodb: Any) -> None:
    # Given DynamoDB refuses a plain write for lack of write capacity
    item = {"pk": {"S": "a"}, "sk": {"S": "b"}}
    with Stubber(dynamodb) as stub:
        stub.add_client_error(
            "put_item", service_error_code="ProvisionedThroughputExceededException"
        )

        # When it is written, then the error is the same storage error
        with pytest.raises(StorageUnavailable):
            dynamodb.put_item(TableName="t", Item=item)


@pytest.mark.parametrize(
    "code", ["ConditionalCheckFailedException", "ValidationException", "ResourceNotFoundException"]
)
def test_other_errors_stay_client_errors(dynamodb: Any, code: str) -> None:
    # Given DynamoDB refuses a request for a reason that is not a lack of capacity
    with Stubber(dynamodb) as stub:
        stub.add_client_error("get_item", service_error_code=code)

        # When it is read, then the caller still sees DynamoDB's own error (a condition, a bug)
        with pytest.raises(ClientError) as failed:
            dynamodb.get_item(TableName="t", Key={"pk": {"S": "a"}, "sk": {"S": "b"}})

    assert failed.value.response["Error"]["Code"] == code


def test_the_python_values_client_maps_the_same(dynamodb: Any) -> None:
    # Given the client the stores' tables use (Python values in and out)
    clients.reset()
    documents = clients.dynamodb_documents()
    with Stubber(documents) as stub:
        stub.add_client_error("query", service_error_code="ThrottlingException")

        # When its query is throttled, then it is the storage error
        with pytest.raises(StorageUnavailable):
            documents.query(
                TableName="t",
                KeyConditionExpression="pk = :pk",
                ExpressionAttributeValues={":pk": "EVENT#e"},
            )
    clients.reset()
