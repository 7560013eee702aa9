"""curate/publish.py: staging loads with 🤗 datasets per config, the card, dry runs, the upload calls, the token."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import datasets
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from helpers import extract_config as config
from helpers import make_table
from media import make_clip
from typer.testing import CliRunner

from curate.cli import app
from curate.coldstart.backends.base import SamplingParams
from curate.coldstart.stage import ColdstartConfig
from curate.coldstart.stage import run as run_coldstart
from curate.errors import UserError
from curate.filter import FilterConfig
from curate.filter import run as run_filter
from curate.frames.extract import run as run_extract
from curate.publish import PublishResult, commands, lay_out, plan, publish

SAMPLES = Path(__file__).resolve().parents[1] / "curate" / "samples"
TOKEN = "hf_TestSecretToken0123456789abcdef"


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("outputs")
    filtered = root / "filtered"
    run_filter(
        FilterConfig(
            inputs=[SAMPLES / "nextqa_val.csv", SAMPLES / "0_30_s_nextqa_mc_qa_processed.json"], output=filtered
        )
    )
    videos = root / "videos"
    for name in ("a.mp4", "b.mp4"):
        make_clip(videos / name)
    table = make_table(root / "table", ["a.mp4", "b.mp4", "missing.mp4"], per_video=2)
    frames = root / "frames"
    run_extract(config(table, videos, frames, shard_rows=1))
    cold = root / "coldstart"
    run_coldstart(
        ColdstartConfig(
            input=filtered,
            output=cold,
            model="scripted",
            blind=True,
            sampling=SamplingParams(num_samples=3, max_new_tokens=8),
            batch_size=2,
        ),
        backend=_Scripted(),
    )
    return {"filter": filtered, "frames": frames, "coldstart": cold}


class _Scripted:
    """A backend that answers B with a short think for every sample."""

    name = "scripted"

    def generate(self, requests, params):
        from curate.coldstart.backends.base import Completion

        text = "<think>" + "x" * 40 + "</think><answer>B</answer>"
        return [[Completion(text, "stop", 10, 5) for _ in range(params.num_samples)] for _ in requests]

    def info(self):
        return {"backend": "scripted"}

    def close(self):
        pass


class FakeApi:
    """Records the calls an HfApi would get."""

    def __init__(self, large: bool = True, fail: Exception | None = None):
        self.calls: list[tuple[str, tuple, dict]] = []
        self.fail = fail
        self.uploaded: list[str] = []
        if large:
            self.upload_large_folder = self._upload

    def create_repo(self, *args, **kw):
        self.calls.append(("create_repo", args, kw))
        if self.fail:
            raise self.fail
        return f"https://huggingface.co/datasets/{args[0]}"

    def create_branch(self, *args, **kw):
        self.calls.append(("create_branch", args, kw))

    def _upload(self, **kw):
        self.calls.append(("upload_large_folder", (), kw))
        folder = Path(kw["folder_path"])
        self.uploaded = sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file())

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", (), kw))


class NoNetwork:
    """An api object that fails the test on any use."""

    def __getattr__(self, name):
        raise AssertionError(f"network touched: {name}")


def front_matter(card: str) -> dict:
    assert card.startswith("---\n")
    return yaml.safe_load(card.split("---\n")[1])


@pytest.mark.slow
@pytest.mark.parametrize(
    ("stage_name", "expected"),
    [("filter", ["mcq"]), ("frames", ["mcq", "frames"]), ("coldstart", ["exemplars", "passrate"])],
)
def test_staged_folder_loads_every_config(tmp_path, outputs, stage_name, expected):
    staging = tmp_path / "staged"
    result = lay_out(outputs[stage_name], staging, "me/videoqa")
    assert list(result.configs) == expected
    front = front_matter((staging / "README.md").read_text())
    assert [c["config_name"] for c in front["configs"]] == expected
    assert [c["config_name"] for c in front["dataset_info"]] == expected
    for name in expected:
        ds = datasets.load_dataset(str(staging), name, split="train")
        source = outputs[stage_name]
        if name == "frames":
            want = sum(pl.read_parquet(p).height for p in (source / "frames").glob("part-*.parquet"))
            assert ds.num_rows == want == 2
            row = ds[0]
            assert len(row["frames"]) == 4 and all(hasattr(im, "size") for im in row["frames"])  # PIL images
            assert row["frames"][0].size == (32, 32)
        else:
            assert ds.num_rows == pl.read_parquet(source / f"{name}.parquet").height > 0


def test_frame_shards_are_not_rewritten(tmp_path, outputs):
    staging = tmp_path / "staged"
    lay_out(outputs["frames"], staging)
    shards = sorted((outputs["frames"] / "frames").glob("part-*.parquet"))
    assert len(shards) == 2
    for shard in shards:
        staged = staging / "data" / "frames" / shard.name
        assert staged.read_bytes() == shard.read_bytes()
    assert (staging / "meta" / "manifest.json").is_file() and (staging / "meta" / "rejects.parquet").is_file()
    # restaging is idempotent and removes files no longer in the plan
    (staging / "data" / "frames" / "part-99999.parquet").write_bytes(b"stale")
    lay_out(outputs["frames"], staging)
    assert sorted(p.name for p in (staging / "data" / "frames").iterdir()) == [s.name for s in shards]


def test_card_content(outputs):
    card = plan(outputs["filter"], "me/videoqa", license="cc-by-4.0", citation="@misc{videoqa, title={x}}").card
    front = front_matter(card)
    assert front["license"] == "cc-by-4.0"
    assert front["configs"][0]["data_files"] == [{"split": "train", "path": "data/mcq/*.parquet"}]
    features = {f["name"]: f for f in front["dataset_info"][0]["features"]}
    assert features["options"]["list"] == "string"
    assert "| llava_video_178k | 0_30_s_nextqa | 3 |" in card and "| nextqa | DL | 1 |" in card
    assert "| B | 3 | 60.0% |" in card and "| D | 2 | 40.0% |" in card
    assert f"curate filter {SAMPLES / 'nextqa_val.csv'} {SAMPLES / '0_30_s_nextqa_mc_qa_processed.json'}" in card
    assert 'load_dataset("me/videoqa", "mcq", split="train")' in card
    assert "@misc{videoqa, title={x}}" in card


def test_card_frames_config_and_command_chain(outputs):
    card = plan(outputs["frames"], "me/videoqa").card
    front = front_matter(card)
    frames = next(c for c in front["dataset_info"] if c["config_name"] == "frames")
    assert {f["name"]: f for f in frames["features"]}["frames"] == {"name": "frames", "list": "image"}
    assert '"num_frames": 4' in card and '"size": 32' in card
    made = commands(outputs["frames"])
    assert made[-1].startswith("curate extract-frames ") and "--num-frames 4" in made[-1] and "--size 32" in made[-1]
    recorded = json.loads((outputs["frames"] / "manifest.json").read_text())
    assert made[-1] == recorded["command"] and recorded["options"]["num_frames"] == 4
    assert "iter_samples" in card and "snapshot_download" in card
    cold = plan(outputs["coldstart"], "me/videoqa").card
    recorded = json.loads((outputs["coldstart"] / "manifest.json").read_text())["command"]
    assert recorded.startswith("curate coldstart ") and "--model scripted" in recorded and "--blind" in recorded
    assert recorded in cold
    chain = commands(outputs["coldstart"])  # back through the filter folder it read
    assert len(chain) == 2 and chain[0].startswith("curate filter ") and chain[1] == recorded
    assert "## Pass rates" in cold


def test_card_reader_snippet_runs_on_staged_folder(tmp_path, outputs, monkeypatch):
    """The card's pipelines snippet works on a downloaded snapshot (the staged folder stands in for it)."""
    staging = tmp_path / "staged"
    card = lay_out(outputs["frames"], staging, "me/videoqa").card
    snippet = card.split("from pipelines.reader import")[1].split("```")[0]
    snippet = "from pathlib import Path\nfrom pipelines.reader import" + snippet
    snippet = snippet.replace(
        'root = Path(snapshot_download("me/videoqa", repo_type="dataset", allow_patterns=["data/*"]))',
        f"root = Path({str(staging)!r})",
    )
    monkeypatch.chdir(tmp_path)
    exec(compile(snippet, "card", "exec"), {})  # noqa: S102 - our own generated snippet
    assert (tmp_path / "videoqa" / "mcq.parquet").exists()


def test_dry_run_touches_no_network(tmp_path, outputs, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    before = sorted(p.name for p in outputs["frames"].iterdir())
    result = publish(outputs["frames"], "me/videoqa", dry_run=True, api=NoNetwork())
    assert isinstance(result, PublishResult) and result.dry_run and result.staging is None
    assert capsys.readouterr().out == ""  # the library returns the plan; only the CLI prints
    shown = "\n".join(result.lines())
    assert "data/frames/part-00000.parquet" in shown and "data/mcq/mcq.parquet" in shown
    assert "configs:" in shown and TOKEN not in shown
    assert sorted(p.name for p in outputs["frames"].iterdir()) == before  # nothing staged either


def run_cli(*args: object):
    result = CliRunner().invoke(app, [str(a) for a in args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception
    return result


def test_cli_dry_run_prints_plan_and_card_or_json(outputs, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    text = run_cli("publish", outputs["frames"], "--repo-id", "me/videoqa", "--dry-run")
    assert text.exit_code == 0
    assert "would publish" in text.stdout and "data/frames/part-00001.parquet" in text.stdout
    assert plan(outputs["frames"], "me/videoqa").card in text.stdout
    result = run_cli("publish", outputs["frames"], "--repo-id", "me/videoqa", "--dry-run", "--json", "--public")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)  # one JSON document, nothing else on stdout
    assert summary["dry_run"] is True and summary["private"] is False and summary["repo_id"] == "me/videoqa"
    assert summary["configs"] == ["mcq", "frames"] and summary["files"] == len(summary["plan"]) + 1
    assert {f["path_in_repo"] for f in summary["plan"]} >= {"data/mcq/mcq.parquet", "data/frames/part-00000.parquet"}
    assert summary["card"] == plan(outputs["frames"], "me/videoqa").card and TOKEN not in result.stdout


def test_card_front_matter_round_trips_through_huggingface_hub(outputs):
    from huggingface_hub import DatasetCard

    card = plan(outputs["frames"], "me/videoqa", license="cc-by-4.0").card
    parsed = DatasetCard(card)
    assert parsed.data.license == "cc-by-4.0" and [c["config_name"] for c in parsed.data.configs] == ["mcq", "frames"]
    assert str(parsed) == card  # the card is what huggingface_hub writes for this metadata


@pytest.mark.slow
@pytest.mark.parametrize("where", ["mcq.parquet", "frames/part-00000.parquet", "rejects.parquet"])
@pytest.mark.parametrize("content", ["garbage", "wrong schema"])
def test_bad_table_is_one_line_error_naming_the_file(tmp_path, outputs, where, content):
    folder = tmp_path / "copy"
    shutil.copytree(outputs["frames"], folder, ignore=shutil.ignore_patterns("_publish", "_work"))
    target = folder / where
    if content == "garbage":
        target.write_bytes(b"this is not parquet\n")
    else:  # a Parquet table, but not the one this file name promises
        pq.write_table(pa.table({"id": ["x"], "answer": ["B"]}), target)
    with pytest.raises(UserError, match=re.escape(str(target))) as err:
        publish(folder, "me/videoqa", dry_run=True, api=NoNetwork())
    assert "\n" not in str(err.value)
    result = run_cli("publish", folder, "--repo-id", "me/videoqa", "--dry-run")
    assert result.exit_code == 2 and str(target) in result.stderr and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_upload_calls(tmp_path, outputs, capsys, monkeypatch):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = FakeApi()
    staging = tmp_path / "staged"
    result = publish(outputs["frames"], "me/videoqa", private=False, revision="v1", api=api, staging=staging)
    names = [c[0] for c in api.calls]
    assert names == ["create_repo", "create_branch", "upload_large_folder"]
    assert api.calls[0][1] == ("me/videoqa",)
    assert api.calls[0][2] == {"repo_type": "dataset", "private": False, "exist_ok": True}
    assert api.calls[1][2] == {"branch": "v1", "repo_type": "dataset", "exist_ok": True}
    up = api.calls[2][2]
    assert up["repo_id"] == "me/videoqa" and up["repo_type"] == "dataset" and up["revision"] == "v1"
    assert Path(up["folder_path"]) == staging
    assert "README.md" in api.uploaded and "data/frames/part-00001.parquet" in api.uploaded
    assert result.url == "https://huggingface.co/datasets/me/videoqa" and result.calls == names
    assert TOKEN not in capsys.readouterr().out + (staging / "README.md").read_text()


def test_upload_default_staging_and_upload_folder_fallback(outputs):
    api = FakeApi(large=False)
    result = publish(outputs["coldstart"], "me/cold", api=api)
    assert [c[0] for c in api.calls] == ["create_repo", "upload_folder"]
    assert api.calls[0][2]["private"] is True and api.calls[1][2]["revision"] is None
    assert result.staging == outputs["coldstart"] / "_publish"
    assert (result.staging / "data" / "exemplars" / "exemplars.parquet").is_file()


def test_hub_errors_are_one_line_without_token(outputs, monkeypatch, tmp_path):
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    api = FakeApi(fail=RuntimeError(f"401 Unauthorized\nfor token {TOKEN}"))
    with pytest.raises(UserError) as err:
        publish(outputs["filter"], "me/videoqa", api=api, staging=tmp_path / "s")
    message = str(err.value)
    assert "create_repo failed" in message and TOKEN not in message and "\n" not in message


def test_user_errors(tmp_path, monkeypatch):
    with pytest.raises(UserError, match="OWNER/NAME"):
        publish(tmp_path, "no-slash", dry_run=True)
    with pytest.raises(UserError, match="nothing to publish"):
        publish(tmp_path, "me/x", dry_run=True)
    with pytest.raises(UserError, match="no such folder"):
        publish(tmp_path / "absent", "me/x", dry_run=True)
    (tmp_path / "mcq.parquet").write_bytes(b"")
    monkeypatch.delenv("HF_TOKEN", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf_home"))  # no cached login either
    monkeypatch.setattr("huggingface_hub.get_token", lambda: None)
    with pytest.raises(UserError, match="no Hub token"):
        publish(tmp_path, "me/x")


@pytest.mark.skipif(
    not (os.environ.get("HF_TOKEN") and os.environ.get("VIDEOQA_RL_TEST_REPO")),
    reason="live Hub test: set HF_TOKEN and VIDEOQA_RL_TEST_REPO (OWNER/NAME of a scratch dataset repo) to run",
)
def test_live_publish_and_load(outputs, tmp_path):  # pragma: no cover - needs the network
    repo = os.environ["VIDEOQA_RL_TEST_REPO"]
    result = publish(outputs["frames"], repo, private=True, staging=tmp_path / "staged")
    assert not result.dry_run
    ds = datasets.load_dataset(repo, "frames", split="train", token=os.environ["HF_TOKEN"])
    assert ds.num_rows == 2 and len(ds[0]["frames"]) == 4


def test_calls_match_the_installed_huggingface_hub(outputs, tmp_path):
    """The recorded arguments bind to the real HfApi methods of the installed huggingface_hub."""
    import inspect

    from huggingface_hub import HfApi

    for large in (True, False):
        api = FakeApi(large=large)
        publish(outputs["filter"], "me/videoqa", revision="dev", api=api, staging=tmp_path / f"s{large}")
        for name, args, kw in api.calls:
            method = getattr(HfApi, name, None)
            if method is None:  # upload_large_folder was folded into upload_folder in huggingface_hub 2
                assert name == "upload_large_folder"
                continue
            inspect.signature(method).bind(None, *args, **kw)


def test_card_states_decontamination_counts(tmp_path, outputs):
    """A curate decontaminate folder publishes its mcq config, and the card states what was checked and
    removed, per benchmark and match kind, from its stats.json."""
    from curate.decontaminate.config import DECONTAMINATE
    from curate.decontaminate.stage import run as run_decontaminate
    from schemas.mcq import read_mcq, write_mcq

    train = read_mcq(outputs["filter"] / "mcq.parquet")
    bench = tmp_path / "bench"
    bench.mkdir()
    write_mcq(train.slice(0, 2), bench / "mcq.parquet")  # two of the training questions are a benchmark's
    out = tmp_path / "out"
    options = {"train": outputs["filter"], "against": [bench], "output": out, "content": False}
    result = run_decontaminate(DECONTAMINATE.build(options))
    assert result.rejected >= 2
    card = plan(out, "me/clean").card
    section = card[card.index("## Decontamination") : card.index("## How it was made")]
    stats = json.loads((out / "stats.json").read_text())
    assert f"{stats['matched_rows']} of {train.num_rows} training rows matched a benchmark" in section
    assert f"{result.rejected} were removed, {result.kept} kept" in section
    for benchmark, counts in stats["by_benchmark"].items():
        row = [benchmark, *(str(counts.get(k, 0)) for k in sorted(counts)), str(sum(counts.values()))]
        assert "| " + " | ".join(row) + " |" in section
    assert "| contaminated_video |" in section or "| contaminated_question |" in section
    assert "`curate decontaminate` (video ids, questions)" in section  # --no-content: not claimed
    assert "curate decontaminate " in card  # the command that made it, from the manifest
