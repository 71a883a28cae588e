"""Where the tests find the repository and the shared folder beside it."""

from pathlib import Path

#: The repository's root (pyproject.toml, datasets/, configs/, notebooks/).
REPO = Path(__file__).resolve().parents[1]
#: The tests folder (its helper modules: synth, nights, output_digest).
TESTS = REPO / "tests"
#: ``../shared`` beside the repository (article, device files, notes).
SHARED = REPO.parent / "shared"
