"""GRPO with TRL on stored frames: `curate export OUT/frames --to trl --output train.parquet` writes an
`images` column (the stored frames, typed as Images) beside the prompt and the reward columns."""

import datasets
from trl import GRPOConfig, GRPOTrainer

from rewards.trl import format_reward, mcq_accuracy_reward, tinyllava_reward


def make_trainer(model, processor, train_file, extra_rewards=(), **config):
    train = datasets.load_dataset("parquet", data_files=str(train_file), split="train")  # images: PIL lists
    return GRPOTrainer(
        model=model,
        processing_class=processor,
        reward_funcs=[*extra_rewards, tinyllava_reward, mcq_accuracy_reward, format_reward],
        args=GRPOConfig(**config),
        train_dataset=train,
    )
