"""Names of the input formats ``curate filter`` reads (kept apart from the readers so the CLI can list
them without importing polars)."""

READER_FORMATS = (
    "llava-video-178k",
    "nextqa",
    "video-r1",
    "tinyllava-video-r1",
    "mvbench",
    "videomme",
    "perceptiontest",
    "star",
    "tvqa",
    "inline-mc",
    "generic",
)
FORMATS = ("auto", *READER_FORMATS)
