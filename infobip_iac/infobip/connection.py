"""How a command gets its KeyService: the embedded emulator (`--emulator`) or Infobip itself,
with settings from the environment. Whatever is opened is closed on exit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import replace
from pathlib import Path
from typing import Any

from infobip_iac.domain.secret import Secret
from infobip_iac.errors import AmbiguousWriteError, AuthenticationError, TransportError
from infobip_iac.infobip.answers import without_hint
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.settings import (
    UserCredentials,
    credential_variables,
    settings_from_env,
)
from infobip_iac.logs import get_logger

__all__ = ["EMULATOR_PASSWORD", "EMULATOR_USER", "open_key_service"]

# The emulator's built-in user (SPEC §6); not a secret of anyone's.
EMULATOR_USER = "admin"
EMULATOR_PASSWORD = "admin"  # noqa: S105

_log = get_logger(__name__)


def open_key_service(
    *,
    emulator: bool,
    emulator_data: Path,
    timeout: float,
    env: Mapping[str, str] | None = None,
    **client_options: Any,
) -> AbstractContextManager[InfobipClient]:
    """A client for the run of one command.

    With `emulator=True`, the embedded emulator starts in-process on a free loopback port
    with its data in `emulator_data` and the client logs in as its default user; the
    environment is ignored, so a stray INFOBIP_* variable cannot point a test run at a real
    account. Otherwise the settings come from `env` (default: the process environment).
    """
    return _open(
        emulator=emulator,
        emulator_data=emulator_data,
        timeout=timeout,
        env=env,
        client_options=client_options,
    )


@contextmanager
def _open(
    *,
    emulator: bool,
    emulator_data: Path,
    timeout: float,
    env: Mapping[str, str] | None,
    client_options: dict[str, Any],
) -> Iterator[InfobipClient]:
    with ExitStack() as stack:
        if emulator:
            # Imported here: only --emulator runs pay for loading the emulator.
            from infobip_iac.emulator import EmulatorServer

            emulator_data.parent.mkdir(parents=True, exist_ok=True)
            server = stack.enter_context(EmulatorServer(data_path=emulator_data))
            _log.debug("emulator started", base_url=server.base_url)
            client = InfobipClient(
                base_url=server.base_url,
                credentials=UserCredentials(EMULATOR_USER, Secret(EMULATOR_PASSWORD)),
                timeout=timeout,
                **client_options,
            )
        else:
            settings = settings_from_env(env)
            client = InfobipClient.from_settings(settings, timeout=timeout, **client_options)
        stack.enter_context(client)
        if emulator:
            yield client
            return
        try:
            yield client
        except AuthenticationError as refused:
            # The general advice lists every kind of credential; this run knows which one
            # it sent (by variable name, never the value).
            raise replace(
                refused,
                message=f"{without_hint(refused)} (check the credentials this run sent: "
                f"{credential_variables(settings.credentials)})",
            ) from None
        except AmbiguousWriteError:
            raise
        except TransportError as failed:
            if not settings.scheme_assumed:
                raise
            raise replace(
                failed,
                message=f"{failed.message}. INFOBIP_BASE_URL has no scheme, so "
                f"{settings.base_url.split('://', 1)[0]}:// was assumed; if the server speaks "
                "plain HTTP, write http:// in front",
            ) from None
