"""Load manifests (YAML with line numbers), validate them, resolve them into a DesiredConfig.

Plan and apply call `load_or_raise`; `validate` calls `load_configuration` and prints the
diagnostics. The diagnostic codes are listed in `infobip_iac.manifest.diagnostics`.
"""

from __future__ import annotations

from infobip_iac.manifest.diagnostics import Code
from infobip_iac.manifest.load import LoadResult, load_configuration, load_or_raise

__all__ = ["Code", "LoadResult", "load_configuration", "load_or_raise"]
