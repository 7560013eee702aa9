"""OpenRLHF reward function file (``--reward.remote_url`` given a ``.py`` file), checked against 0.11.2.

    python -m openrlhf.cli.train_ppo_ray ... \\
        --reward.remote_url /path/to/site-packages/rewards/openrlhf.py --data.label_key label

OpenRLHF imports the file and calls ``reward_func(queries, prompts, labels)`` once per sample, with
lists of length one and no keyword arguments: the query is the prompt followed by the response,
decoded with ``skip_special_tokens=False`` (so it ends in ``<|im_end|>`` or padding such as
``<|endoftext|>``, removed before scoring). ``labels`` come from the ``--data.label_key`` column:
``curate export --to openrlhf`` writes ``label`` as a packed gold (:mod:`rewards.gold`: the letter with
the options and problem type), so option-text answers score right; a letter, ``<answer>B</answer>`` or
an index works too. Returns ``{"rewards", "scores", "extra_logs"}`` as OpenRLHF expects: ``rewards``
(the TinyLLaVA-Video-R1 reward, :func:`rewards.combine.score`) drives the advantage, ``scores``
(accuracy, in [0, 1]) the dynamic filtering, ``extra_logs`` go to the logger. For the one query
OpenRLHF sends they are Python floats, which it makes into tensors itself; for a batch, float32 torch
tensors when torch is importable, lists of the same float32 values otherwise (:func:`reward_func`).
OpenRLHF passes no settings: for another ``mode``, point ``--reward.remote_url`` at a file of your own
whose ``reward_func`` calls this one with ``mode=...``.

The response is the query without its prompt. OpenRLHF's query does not always start with the prompt
text — image placeholders are expanded in the query and an over-long prompt is cut from the left — so
when it does not, the response is the text after the last assistant-turn marker of the common chat
templates (:data:`ASSISTANT_MARKERS`); only when there is none either is the whole query scored.
"""

from __future__ import annotations

from array import array
from typing import Any

from rewards._text import END_TAILS, as_text
from rewards.combine import score_gold
from rewards.format import TINYLLAVA_LENGTH

# Where the assistant's turn starts in the chat templates of Qwen/ChatML, Llama 3, Gemma, Phi-3 and
# Llama 2/Mistral; the response is what follows the last of them.
ASSISTANT_MARKERS = (
    "<|im_start|>assistant\n",
    "<|start_header_id|>assistant<|end_header_id|>\n\n",
    "<start_of_turn>model\n",
    "<|assistant|>\n",
    "[/INST]",
)


def _response(query: Any, prompt: Any) -> str | None:
    """The response in ``query`` (the module docstring says how it is found). When the query starts with
    its prompt, a final end token is cut off with the prompt, in one copy (``score_gold`` strips any run
    of them left, as for every other response)."""
    text = query if type(query) is str else as_text(query)
    if text is None:
        return None
    # type() first: the exact check is cheaper than isinstance for the plain str OpenRLHF passes.
    if (type(prompt) is str or isinstance(prompt, str)) and prompt and text.startswith(prompt):
        cut, end = len(prompt), text.rfind("<")
        return text[cut:end] if end >= cut and text[end + 1 :] in END_TAILS else text[cut:]
    ends = [text.rfind(m) + len(m) for m in ASSISTANT_MARKERS if m in text]
    return text[max(ends) :] if ends else text


def _columns(values: array, n: int) -> list[Any]:
    """The three columns of ``values`` (``n`` rewards, then ``n`` accuracies, then ``n`` format values,
    float32) as float32 tensors that share its memory (``torch.frombuffer``; the same C double → float
    rounding as ``torch.tensor(values, dtype=torch.float32)``, without inspecting each element as a Python
    object), or as lists of those float32 values without torch."""
    try:
        import torch
    except ImportError:
        return [values[k * n : (k + 1) * n].tolist() for k in range(3)]
    if not n:
        return [torch.zeros(0, dtype=torch.float32) for _ in range(3)]
    return [torch.frombuffer(values, dtype=torch.float32, count=n, offset=4 * k * n) for k in range(3)]


_ZERO = array("f", [0.0])


def _padded(values: Any, n: int) -> list:
    values = list(values) if values is not None else []
    return values[:n] + [None] * (n - len(values)) if len(values) != n else values


def _rows(queries: Any, prompts: Any, labels: Any) -> tuple[list, list, list]:
    """Three lists as long as ``queries`` (prompts and labels cut or padded with ``None``)."""
    if type(queries) is list and type(prompts) is list and type(labels) is list:
        if len(queries) == len(prompts) == len(labels):  # what OpenRLHF sends
            return queries, prompts, labels
    queries = queries if type(queries) is list else list(queries) if queries is not None else []
    n = len(queries)
    prompts = prompts if type(prompts) is list and len(prompts) == n else _padded(prompts, n)
    labels = labels if type(labels) is list and len(labels) == n else _padded(labels, n)
    return queries, prompts, labels


_DEFAULT_SETTINGS = ("tinyllava", 0.5, TINYLLAVA_LENGTH)  # score_gold's defaults (a test checks)


def _settings(kwargs: dict[str, Any]) -> tuple[str, float, int]:
    """``(mode, format_weight, length)`` from ``reward_func``'s keywords (OpenRLHF passes none)."""
    if not kwargs:
        return _DEFAULT_SETTINGS
    mode, format_weight, length = _DEFAULT_SETTINGS
    return kwargs.get("mode", mode), kwargs.get("format_weight", format_weight), kwargs.get("length", length)


def _batch_values(queries: list, prompts: list, labels: list, settings: tuple[str, float, int]) -> array:
    """A float32 buffer of the ``n`` rewards, then the ``n`` accuracies, then the ``n`` format values."""
    n = len(queries)
    values = _ZERO * (3 * n)
    for i, (q, prompt, label) in enumerate(zip(queries, prompts, labels, strict=True)):
        # score_gold: the label read once per distinct string, with its question
        values[i], values[n + i], values[n + n + i] = score_gold(_response(q, prompt), label, None, None, *settings)
    return values


def reward_func(queries: Any, prompts: Any, labels: Any, **kwargs: Any) -> dict[str, Any]:
    """``{"rewards", "scores", "extra_logs": {"accuracy", "format"}}``, one value per query (missing
    prompts or labels count as ``None``).

    One query — what OpenRLHF 0.11.2 always sends — gives Python floats: OpenRLHF turns each into the
    ``(1,)`` tensor it keeps with ``torch.tensor([value])`` (its multi-turn executor hands it a float
    reward too), and three tensors made here would cost more than scoring the response. A batch gives
    float32 tensors, views of one buffer, or lists of those float32 values without torch. ``scores`` and
    ``extra_logs["accuracy"]`` are the same object: OpenRLHF copies both and never writes into them."""
    one = not kwargs and type(queries) is list and type(prompts) is list and type(labels) is list
    if one:
        try:
            (query,), (prompt,), (label,) = queries, prompts, labels
        except ValueError:  # a batch
            one = False
    if one:
        # OpenRLHF's call, once per sample: the general path's calls (_rows, _settings, the settings
        # unpacked) and the length checks cost ~1,000 interpreter instructions of the ~25,000 a score
        # takes (callgrind). score_gold's defaults are _DEFAULT_SETTINGS.
        reward, accuracy, fmt = score_gold(_response(query, prompt), label)
    else:
        queries, prompts, labels = _rows(queries, prompts, labels)
        settings = _settings(kwargs)
        if len(queries) != 1:
            reward, accuracy, fmt = _columns(_batch_values(queries, prompts, labels, settings), len(queries))
        else:
            reward, accuracy, fmt = score_gold(_response(queries[0], prompts[0]), labels[0], None, None, *settings)
    return {"rewards": reward, "scores": accuracy, "extra_logs": {"accuracy": accuracy, "format": fmt}}
