"""Unit-test fixtures: import the collection from the checkout and fake AWS with Stubber.

Unit tests never talk to an emulator: they drive real boto3 clients whose answers are
stubbed with botocore's Stubber, so request parameters are checked against the AWS model.
"""

from __future__ import annotations

import sys
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

COLLECTIONS = Path(__file__).resolve().parents[2] / "collections"
if str(COLLECTIONS) not in sys.path:
    # ansible_collections is a namespace package: this adds ansible_collections.mlops next to
    # the amazon.aws collection installed in the virtualenv.
    sys.path.insert(0, str(COLLECTIONS))


@pytest.fixture
def stubbed():
    """Return stubbed(service) -> (client, stubber); every queued answer must be consumed."""
    stubbers: list[Stubber] = []

    def make(service: str):
        client = boto3.client(
            service,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )
        stubber = Stubber(client)
        stubber.activate()
        stubbers.append(stubber)
        return client, stubber

    yield make
    for stubber in stubbers:
        stubber.assert_no_pending_responses()
        stubber.deactivate()


class FakeClock:
    """A monotonic clock that moves only when slept on: call it for the time, pass its sleep."""

    def __init__(self):
        self.now = 0.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


@pytest.fixture
def fake_clock() -> FakeClock:
    """A FakeClock at 0 s, for waits that take `clock=` and `sleep=` (no real sleeping)."""
    return FakeClock()
