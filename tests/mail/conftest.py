from collections.abc import AsyncIterator, Iterator

import pytest

from service.settings import Settings
from tests.builders import Client
from tests.mail.inbox import Inbox, mail_app, smtp_server


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    found = Inbox()
    with smtp_server(found) as port:
        found.port = port  # type: ignore[attr-defined]
        yield found


@pytest.fixture
async def mail_client(settings: Settings, inbox: Inbox) -> AsyncIterator[Client]:
    async with mail_app(settings, inbox.port) as client:  # type: ignore[attr-defined]
        yield client
