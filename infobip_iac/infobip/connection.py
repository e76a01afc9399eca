"""How a command gets its KeyService: the embedded emulator (`--emulator`) or Infobip itself,
with settings from the environment. Whatever is opened is closed on exit."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, ExitStack, contextmanager
from pathlib import Path
from typing import Any

from infobip_iac.domain.secret import Secret
from infobip_iac.infobip.client import InfobipClient
from infobip_iac.infobip.settings import UserCredentials, settings_from_env
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
            client = InfobipClient.from_settings(
                settings_from_env(env), timeout=timeout, **client_options
            )
        stack.enter_context(client)
        yield client
