"""What the benchmarks' smoke tests need."""

from __future__ import annotations

import shutil

import pytest

from tests.conftest import service_missing


@pytest.fixture
def voice_tools() -> None:
    """espeak-ng and sox, which make the simulated candidates' voices."""
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            service_missing(tool, FileNotFoundError("apt-get install -y espeak-ng sox"))
