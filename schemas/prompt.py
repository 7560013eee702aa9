"""The prompt contract: how a multiple-choice question is shown to a model and what answer it is
scored against. One definition, imported by export, coldstart, the trainer-side readers and the rewards.

- ``LETTERS``: option ``i`` is letter ``LETTERS[i]`` (A … Z; at most 26 options, ``schemas.mcq``);
- :func:`options_block`: ``"A. first\\nB. second"`` — one line per option, letter, dot, space, text;
- :func:`user_text`: question, options block and (optionally) an instruction, one per line;
- :func:`solution`: the gold a trainer's accuracy reward compares with: ``<answer>X</answer>``;
- ``R1_INSTRUCTION``: TinyLLaVA-Video-R1's format instruction (``<think>`` then ``<answer>``);
  ``LLAVA_INSTRUCTION``: LLaVA's answer-with-the-letter instruction (SFT exports).
"""

from __future__ import annotations

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
R1_INSTRUCTION = "Output the thinking process in <think> </think> and final answer (option) in <answer> </answer> tags."
LLAVA_INSTRUCTION = "Answer with the option's letter from the given choices directly."


def options_block(options: list[str]) -> str:
    """``A. …\\nB. …`` for ``options`` in order."""
    return "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(options))


def user_text(question: str, options: list[str], instruction: str | None = None) -> str:
    """``question``, the options block and ``instruction`` (when given), joined by newlines."""
    parts = [question, options_block(options)]
    if instruction:
        parts.append(instruction)
    return "\n".join(parts)


def solution(answer: int) -> str:
    """``<answer>X</answer>`` for the 0-based ``answer`` index."""
    return f"<answer>{LETTERS[answer]}</answer>"
