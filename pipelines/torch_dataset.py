"""``torch.utils.data.IterableDataset`` over an extract-frames folder (:mod:`pipelines.reader`).

Each dataloader worker of each rank reads its own contiguous range of videos::

    num_shards  = world_size × num_workers
    shard_index = rank × num_workers + worker_id

(``rank``/``world_size`` from ``torch.distributed`` when it is initialized and ``split_by_rank`` is
true, else 0/1; ``worker_id``/``num_workers`` from ``get_worker_info()``, else 0/1). So every question
is yielded once per epoch across all ranks and workers. Ranks can get different numbers of questions
(:meth:`VideoQAIterableDataset.num_samples` tells); under plain DDP bound the loop with ``max_steps``.

Under 🤗 ``Trainer``/``accelerate`` pass ``split_by_rank=False``: accelerate shards an iterable dataset
across processes itself (``dispatch_batches`` or ``IterableDatasetShard``), so every rank must see the
whole stream.

    from torch.utils.data import DataLoader
    from pipelines.torch_dataset import VideoQAIterableDataset

    ds = VideoQAIterableDataset("out/frames_run", output="torch", shuffle_seed=0)
    loader = DataLoader(ds, batch_size=4, num_workers=4, collate_fn=list)
    for epoch in range(2):
        ds.set_epoch(epoch)
        for batch in loader:          # list of dicts; batch[0]["frames"]: uint8 (T, C, H, W)
            ...
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import torch
import torch.distributed as dist
from torch.utils.data import IterableDataset, get_worker_info

from pipelines.reader import DEFAULT_BATCH_ROWS, VideoQAReader
from schemas.prompt import R1_INSTRUCTION

__all__ = ["VideoQAIterableDataset"]

OUTPUTS = ("torch", "numpy", "pil")


def _rank_world(split_by_rank: bool) -> tuple[int, int]:
    if split_by_rank and dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def _worker() -> tuple[int, int]:
    info = get_worker_info()
    return (info.id, info.num_workers) if info is not None else (0, 1)


class VideoQAIterableDataset(IterableDataset):
    """One sample per question (the keys of :func:`pipelines.reader.iter_samples`).

    ``output``: ``"torch"`` → ``frames`` is a uint8 tensor ``(T, C, H, W)`` and ``timestamps`` a float32
    tensor; ``"numpy"`` → uint8 ``(T, H, W, C)`` array; ``"pil"`` → a list of RGB PIL images.
    ``shuffle_seed`` (+ the epoch set by :meth:`set_epoch`) shuffles row groups and videos locally.
    ``decode_threads``: threads decoding one video's JPEG frames (:mod:`pipelines.reader`); default 1 in
    a DataLoader worker process, the reader's default (``min(4, CPUs)``) in the main process.
    """

    def __init__(
        self,
        directory: str | os.PathLike,
        *,
        output: str = "torch",
        shuffle_seed: int | None = None,
        instruction: str | None = R1_INSTRUCTION,
        split_by_rank: bool = True,
        batch_rows: int = DEFAULT_BATCH_ROWS,
        decode_threads: int | None = None,
    ) -> None:
        if output not in OUTPUTS:
            raise ValueError(f"output={output!r}: expected one of {OUTPUTS}")
        self.reader = VideoQAReader(directory, instruction=instruction, batch_rows=batch_rows)
        self.decode_threads = decode_threads
        self.output = output
        self.shuffle_seed = shuffle_seed
        self.split_by_rank = split_by_rank
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        """Reshuffle for ``epoch`` (only with ``shuffle_seed``); call before iterating the loader."""
        self.epoch = int(epoch)

    def shard(self) -> tuple[int, int]:
        """``(shard_index, num_shards)`` of the calling process and worker."""
        rank, world = _rank_world(self.split_by_rank)
        worker_id, num_workers = _worker()
        return rank * num_workers + worker_id, world * num_workers

    def num_samples(self, rank: int | None = None, world_size: int | None = None) -> int:
        """Questions that ``rank`` of ``world_size`` (default: this process) yields per epoch, all workers together."""
        if rank is None or world_size is None:
            rank, world_size = _rank_world(self.split_by_rank)
        return self.reader.num_samples(rank, world_size)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        shard_index, num_shards = self.shard()
        seed = None if self.shuffle_seed is None else self.shuffle_seed + self.epoch
        as_ = "pil" if self.output == "pil" else "numpy"
        threads = self.decode_threads
        if threads is None and get_worker_info() is not None:
            threads = 1  # the DataLoader's worker processes already decode side by side
        last: tuple[Any, torch.Tensor] | None = None  # the questions of one video share one tensor
        samples = self.reader.iter(
            as_=as_, shard_index=shard_index, num_shards=num_shards, shuffle_seed=seed, decode_threads=threads
        )
        for sample in samples:
            if self.output == "torch":
                frames = sample["frames"]
                if last is None or last[0] is not frames:
                    # raw frames view the shard's Arrow buffer; a read-only one (a memory map) is copied once
                    writable = frames if frames.flags.writeable else frames.copy()
                    last = (frames, torch.from_numpy(writable).permute(0, 3, 1, 2))
                sample["frames"] = last[1]
                sample["timestamps"] = torch.from_numpy(sample["timestamps"])
            yield sample
