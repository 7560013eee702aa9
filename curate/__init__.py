"""videoqa-rl curation stages: filter, extract-frames, coldstart, export, publish."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("videoqa-rl")  # pyproject.toml's, as installed
except PackageNotFoundError:  # pragma: no cover - run from a source tree that was never installed
    __version__ = "0+unknown"
