"""Video identity without decoding: one normalised id per video from its path and its source's conventions.

``video_identity(source, subset, path) -> "namespace:id" | None``. Two rows name the same video when their
identities are equal, whatever the dataset layout around them::

    llava_video_178k  academic_source/activitynet/v_Xq1JmWrz3Qc-split_0.mp4   → youtube:Xq1JmWrz3Qc
    llava_video_178k  academic_source/youcook2/101/zukEQgbWdsY/split_2.mp4     → youtube:zukEQgbWdsY
    llava_video_178k  liwei_youtube_videos/…/ytb_4FqVtCx9cEw.mp4                → youtube:4FqVtCx9cEw
    videomme          fFjv93ACGo8.mp4                                           → youtube:fFjv93ACGo8
    (Kinetics)        abseiling/0wR5jVB-WPk_000417_000427.mp4                   → youtube:0wR5jVB-WPk
    nextqa            1106/4010069381.mp4                                       → vidor:4010069381
    tinyllava_video_r1 NextQA/0000/2440175990.mp4                               → vidor:2440175990
    star / mvbench    6H78U.mp4, ./STAR/Charades_v1_480/6H78U.mp4               → charades:6H78U
    (MVBench derived) sta/sta_video_segment/RPY8D_0.0_15.2                      → charades:RPY8D
    perceptiontest    video_10909.mp4                                           → perception:video_10909
    (MVBench clevrer) video_10000.mp4 in clevrer/video_validation/              → clevrer:video_10000
    tvqa              met_s06e22_seg01_clip_02                                  → tvqa:met_s06e22_seg01_clip_02
    (EgoSchema/Ego4D) 0074f737-11cb-497d-8d07-77c3a8127391                      → uuid:0074f737-…

The namespace comes first from the path's folders (``activitynet``, ``charades``, ``clevrer`` …), then
from the source (and, for MVBench, the task: each task draws its videos from one dataset, as MVBench's
``data_list`` says), then from patterns that are unambiguous anywhere (``ytb_``/``v_`` + 11-character
YouTube id, Kinetics ``ID_000000_000000``, a UUID). A path none of these explains has no identity (None):
it is left to content matching, because guessing (the bare file name ``video_100.mp4`` is a CLEVRER video
in one dataset and a Perception Test video in another) would drop training data that is not contaminated.

The identity is the source *video*: a segment (ActivityNet ``-split_0``, Kinetics' 10 s window, YouCook2
``split_2``, a clip window) has its video's identity, so a benchmark clip and a training clip cut from the
same YouTube video match even when the segments differ (the detail in the rejects names both paths).
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath

YOUTUBE_ID = r"[A-Za-z0-9_-]{11}"
UUID = re.compile(r"^([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$", re.IGNORECASE)
VIDEO_SUFFIXES = {".mp4", ".mkv", ".webm", ".avi", ".mov", ".m4v", ".flv", ".mpg", ".mpeg", ".ts", ".wmv"}

# folder name (lower case) → namespace: a folder containing one of these words …
FOLDER_WORDS = {
    "activitynet": "youtube",
    "youcook2": "youtube",
    "kinetics": "youtube",
    "youtube": "youtube",
    "videomme": "youtube",
    "video-mme": "youtube",
    "nextqa": "vidor",
    "next-qa": "vidor",
    "vidor": "vidor",
    "charades": "charades",
    "perception": "perception",
    "clevrer": "clevrer",
    "tvqa": "tvqa",
    "ego4d": "ego4d",
    "egoschema": "ego4d",
    "something": "ssv2",
    "moments_in_time": "mit",
    "nturgbd": "ntu",
    "funqa": "funqa",
}
# … or equal to one of these short names
FOLDER_NAMES = {"anet": "youtube", "ytb": "youtube", "star": "charades", "sta": "charades", "ssv2": "ssv2"}

SOURCES = {
    "nextqa": "vidor",
    "star": "charades",
    "perceptiontest": "perception",
    "tvqa": "tvqa",
    "videomme": "youtube",
    "egoschema": "ego4d",
}
# MVBench task → the dataset its videos come from (MVBench's data_list: json file → video folder)
MVBENCH_TASKS = {
    "action_sequence": "charades",
    "action_prediction": "charades",
    "object_interaction": "charades",
    "action_localization": "charades",
    "action_antonym": "ssv2",
    "fine_grained_action": "mit",
    "unexpected_action": "funqa",
    "object_existence": "clevrer",
    "moving_direction": "clevrer",
    "moving_count": "clevrer",
    "moving_attribute": "clevrer",
    "counterfactual_inference": "clevrer",
    "object_shuffle": "perception",
    "action_count": "perception",
    "state_change": "perception",
    "character_order": "perception",
    "scene_transition": "scene_qa",
    "fine_grained_pose": "ntu",
    "egocentric_navigation": "vlnqa",
    "episodic_reasoning": "tvqa",
}

YOUTUBE_PATTERNS = [
    re.compile(rf"^(?:ytb|yt|v)_({YOUTUBE_ID})(?:$|[-_.])"),  # LLaVA-Video ytb_, ActivityNet v_ (+ -split_N)
    re.compile(rf"^({YOUTUBE_ID})_\d{{6}}_\d{{6}}$"),  # Kinetics id_start_end
    re.compile(rf"^({YOUTUBE_ID})$"),
]
SPLIT = re.compile(r"^split_\d+$")  # YouCook2 in LLaVA-Video: <recipe>/<youtube id>/split_N
ANYWHERE = [re.compile(rf"^(?:ytb|v)_({YOUTUBE_ID})(?:$|-split_\d+$)"), YOUTUBE_PATTERNS[1]]


def _stem(path: PurePosixPath) -> str:
    return path.stem if path.suffix.lower() in VIDEO_SUFFIXES else path.name


def namespace_of(source: str | None, subset: str | None, parts: tuple[str, ...]) -> str | None:
    """The dataset a video belongs to: from its folders, else its source (MVBench: its task)."""
    for part in reversed(parts):
        low = part.lower()
        if low in FOLDER_NAMES:
            return FOLDER_NAMES[low]
        for word, namespace in FOLDER_WORDS.items():
            if word in low:
                return namespace
    if source == "mvbench" and subset:
        return MVBENCH_TASKS.get(subset.lower())
    return SOURCES.get(source or "")


def _youtube(stem: str, parent: str | None) -> str | None:
    if SPLIT.match(stem) and parent and re.fullmatch(YOUTUBE_ID, parent):
        return parent
    for pattern in YOUTUBE_PATTERNS:
        found = pattern.match(stem)
        if found:
            return found.group(1)
    return None


def _in_namespace(namespace: str, stem: str, parent: str | None) -> str | None:
    if namespace == "youtube":
        return _youtube(stem, parent)
    if namespace == "vidor":
        found = re.fullmatch(r"(\d{6,12})", stem)
        return found.group(1) if found else None
    if namespace == "charades":
        found = re.match(r"^([0-9A-Za-z]{5})(?:$|[_.])", stem)
        return found.group(1).upper() if found else None
    if namespace in ("perception", "clevrer"):
        found = re.fullmatch(r"(video_\d+)", stem)
        return found.group(1) if found else None
    if namespace == "ego4d":
        found = UUID.match(stem)
        return found.group(1).lower() if found else None
    return stem or None


def video_identity(source: str | None, subset: str | None, video: str | None) -> str | None:
    """``namespace:id`` of ``video`` (a path as published), or None when its identity is unknown (see the
    module docstring for the rules and their order)."""
    if not video:
        return None
    path = PurePosixPath(video.replace("\\", "/").strip())
    stem = _stem(path)
    parents = path.parent.parts
    parent = parents[-1] if parents else None
    uuid = UUID.match(stem)
    if uuid:
        return f"uuid:{uuid.group(1).lower()}"
    namespace = namespace_of(source, subset, parents)
    if namespace is not None:
        found = _in_namespace(namespace, stem, parent)
        if found:
            return f"{namespace}:{found}"
    for pattern in ANYWHERE:
        found = pattern.match(stem)
        if found:
            return f"youtube:{found.group(1)}"
    return None
