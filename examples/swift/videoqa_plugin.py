# ms-swift plugin: registers videoqa-rl's rewards under the names --reward_funcs takes.
#   swift rlhf --rlhf_type grpo --external_plugins examples/swift/videoqa_plugin.py \
#       --reward_funcs videoqa_tinyllava --dataset train.jsonl ...
# Keep this file outside the rewards package: ms-swift puts the plugin's folder first on sys.path.
from swift.rewards import orms  # ms-swift 4.x (3.x: from swift.plugin import orms)

from rewards.swift import ORMS

orms.update(ORMS)
