"""Tables the site generates from the code and the benchmark result files, so that they cannot drift.

Pages call these from hidden executed blocks (```` ```python exec="on" ```` without ``source``), which print
Markdown: the spaCy config keys from the component's and :class:`ClassifierOptions`' docstrings and
defaults, each CLI command from its argparse parser, the exit codes from the CLI's table, and the
performance tables from ``benchmarks/results/*.json``.
"""

from __future__ import annotations

import argparse
import json
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from griffe import Docstring, DocstringSectionKind

REPOSITORY = Path(__file__).resolve().parents[2]
RESULTS = REPOSITORY / "benchmarks" / "results"


# --- helpers -----------------------------------------------------------------------------------------------


def cell(text: Any) -> str:
    """A Markdown table cell: one line, pipes escaped."""
    return re.sub(r"\s+", " ", str(text)).replace("|", "\\|").strip()


def table(heads: Sequence[str], rows: Iterable[Sequence[Any]], align: str | None = None) -> str:
    """A Markdown table; ``align`` is one letter per column (``l`` or ``r``)."""
    rules = ["---:" if a == "r" else "---" for a in (align or "l" * len(heads))]
    lines = ["| " + " | ".join(heads) + " |", "|" + "|".join(rules) + "|"]
    lines += ["| " + " | ".join(cell(value) for value in row) + " |" for row in rows]
    return "\n".join(lines)


def docstring_arguments(obj: Any) -> dict[str, str]:
    """The ``Args:`` section of ``obj``'s Google-style docstring: name -> description."""
    parsed = Docstring(obj.__doc__ or "", lineno=1).parse("google", warn_missing_types=False, warnings=False)
    found: dict[str, str] = {}
    for section in parsed:
        if section.kind is DocstringSectionKind.parameters:
            found.update({parameter.name: parameter.description for parameter in section.value})
    return found


def config_literal(value: Any) -> str:
    """How a value is written in a spaCy config file."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (str, dict)):
        return json.dumps(value)
    return str(value)


def _rst_to_markdown(text: str) -> str:
    """Docstrings use reST literals (````x````) and roles (``:class:`X```); Markdown wants single backticks."""
    text = re.sub(r":\w+:`~?([^`]+)`", lambda m: f"`{m.group(1).split('.')[-1]}`", text)
    return text.replace("``", "`")


# --- spaCy ---------------------------------------------------------------------------------------------------


def spacy_config_keys() -> str:
    """Every config key of the ``goemotions`` factory: its default and what it means, from the docstrings."""
    from spacy_goemotions.core.options import ClassifierOptions, option_fields
    from spacy_goemotions.integrations.spacy import DEFAULT_CONFIG, EmotionComponent

    meanings = docstring_arguments(ClassifierOptions) | docstring_arguments(EmotionComponent)
    options = [field.name for field in option_fields()]
    settings = [key for key in DEFAULT_CONFIG if key not in options]
    rows = []
    for key in [*settings, *options]:
        if key not in meanings:
            raise KeyError(f"the config key {key!r} is described in neither EmotionComponent's nor ClassifierOptions' docstring")
        kind = "classifier option" if key in options else "component"
        rows.append([f"`{key}`", f"`{config_literal(DEFAULT_CONFIG[key])}`", kind, _rst_to_markdown(meanings[key])])
    return table(["key", "default", "kind", "meaning"], rows)


# --- command line --------------------------------------------------------------------------------------------


def _parsers() -> tuple[argparse.ArgumentParser, dict[str, argparse.ArgumentParser]]:
    from spacy_goemotions.cli import build_parser

    parser = build_parser()
    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return parser, dict(action.choices)


def cli_commands() -> list[str]:
    """The sub-commands, in the order ``spacy-goemotions --help`` lists them."""
    return list(_parsers()[1])


def _flag(action: argparse.Action) -> str:
    if not action.option_strings:
        return f"`{action.metavar or action.dest}`"
    names = ", ".join(f"`{name}`" for name in action.option_strings)
    if action.nargs == 0:
        return names
    metavar = action.metavar or (f"{{{','.join(map(str, action.choices))}}}" if action.choices else action.dest.upper())
    return f"{names} `{metavar}`"


def _default(action: argparse.Action) -> str:
    if action.nargs == 0 or action.default in (None, argparse.SUPPRESS) or not action.option_strings:
        return ""
    if isinstance(action.default, (list, tuple)) and not action.default:
        return ""
    return f"`{action.default}`"


def cli_command(name: str) -> str:
    """One command's reference: what it does, its usage line and a table of its arguments per group."""
    _, commands = _parsers()
    parser = commands[name]
    formatter = parser._get_formatter()
    parts = []
    if parser.description:
        parts.append(parser.description.strip())
    usage = parser.format_usage().removeprefix("usage: ").strip()
    parts.append(f"```text\n{usage}\n```")
    for group in parser._action_groups:
        actions = [a for a in group._group_actions if not isinstance(a, argparse._HelpAction) and a.help != argparse.SUPPRESS]
        if not actions:
            continue
        title = {"positional arguments": "Arguments", "options": "Options"}.get(group.title or "", group.title or "Options")
        rows = [[_flag(a), _default(a), formatter._expand_help(a) if a.help else ""] for a in actions]
        parts.append(f"**{title[0].upper()}{title[1:]}**\n\n" + table(["argument", "default", "meaning"], rows))
    return "\n\n".join(parts)


def exit_codes() -> str:
    """The CLI's exit codes, from the one table :func:`spacy_goemotions.cli.main` uses."""
    from spacy_goemotions.cli import EXIT_CODES, EXIT_OK

    rows = [[str(EXIT_OK), "done", ""]]
    for row in EXIT_CODES:
        code = "130 / 143" if row.code == 130 else str(row.code)
        rows.append([code, row.meaning, ", ".join(f"`{t.__name__}`" for t in row.types)])
    return table(["exit code", "meaning", "raised as"], rows)


# --- benchmark results ---------------------------------------------------------------------------------------


def _result(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((RESULTS / name).read_text(encoding="utf-8"))
    return data


def machine_line(name: str) -> str:
    """Where and how a ``throughput.py`` result was measured, in one sentence."""
    context = _result(name)["context"]
    machine = context["machine"]
    units = ", ".join(machine.get("bf16_flags") or []) or "no bf16 units"
    return (
        f"{context['texts']:,} texts ({context['tokens_per_text']:.0f} tokens each on average), {machine['cpu']} "
        f"({units}), {machine['cores']} cores, {context['threads']} threads, torch {machine['torch']}, "
        f"transformers {machine['transformers']}; measured {context['date'][:10]}, kept in `benchmarks/results/{name}`, by:"
        f"\n\n```bash\n{context['command']}\n```"
    )


ENGINE_NAMES = {
    "pipeline:1": "`transformers.pipeline`, batch_size=1 (the model card)",
    "core:auto": 'core, `backend="torch"`',
    "core:float32": 'core, `backend="torch"`, float32',
    "core-compile:auto": 'core, `backend="torch"`, `compile=True`',
    "core-auto:auto": "core, default options (`auto`)",
    "core-openvino:auto": 'core, `backend="openvino"`',
    "core-openvino:float32": 'core, `backend="openvino"`, float32',
    "core-openvino:int8": 'core, `backend="openvino"`, `dtype="int8"`',
    "pandas:auto": "pandas accessor",
    "spacy:auto": "spaCy `nlp.pipe`",
}


def throughput(name: str, versus: Sequence[str] = ("pipeline:1",)) -> str:
    """A ``benchmarks/throughput.py`` result as a table: texts/s, ratios to ``versus``, agreement with float32."""
    rows = [row for row in _result(name)["rows"] if "texts_per_s" in row]
    speed = {row["engine"]: row["texts_per_s"] for row in rows}
    ratios = ["× pipeline bs=1" if e == "pipeline:1" else f"× {ENGINE_NAMES.get(e, e)}" for e in versus]
    heads = ["engine", "dtype", "texts/s", *ratios, "labels equal to float32 @0.5"]
    out = []
    for row in rows:
        engine = row["engine"]
        label = ENGINE_NAMES.get(engine, f"`{engine}`")
        if engine.startswith("pipeline:") and engine != "pipeline:1":
            label = f"`transformers.pipeline`, batch_size={engine.split(':')[1]}"
        dtype = row.get("dtype", "")
        agree = row.get("labels_equal")
        out.append([label, dtype, f"{row['texts_per_s']:.1f}", *(f"{row['texts_per_s'] / speed[e]:.2f}" for e in versus),
                    "" if agree is None else f"{agree:.2%}"])  # fmt: skip
    return table(heads, out, "llr" + "r" * len(versus) + "r")


def cold_start(name: str = "cold-start-base-deterministic-auto.json") -> str:
    """``benchmarks/cold_start.py``: seconds from process start to the first batch's scores (and, where recorded,
    whether the process imported torch and transformers)."""
    rows, heads = [], ["backend=", "cache", "engine that ran", "import s", "load + first batch s", "from process start s",
                       "whole process s"]  # fmt: skip
    recorded = all("torch_imported" in row for row in _result(name)["rows"])
    for row in _result(name)["rows"]:
        cells = [row["engine"].split(":")[0], row["start"], row["backend"]]
        cells += [f"{row[key]:.2f}" for key in ("import_s", "first_batch_s", "since_start_s", "process_s")]
        if recorded:
            cells.append(f"{'yes' if row['torch_imported'] else 'no'} / {'yes' if row['transformers_imported'] else 'no'}")
        rows.append(cells)
    if recorded:
        heads.append("imported torch / transformers")
    return table(heads, rows, "lllrrrr" + "l" * recorded)


def precision(name: str) -> str:
    """``benchmarks/precision.py``: how far reduced precision moves scores from float32, by text length."""
    data = _result(name)
    rows = [
        [row["engine"], row["mode"], row["tokens"], row["texts"], f"{row['max_abs']:.4f}", f"{row['p99_abs']:.4f}"]
        + [f"{row['labels_equal']:.2%}"]
        for row in data["rows"]
        if row["mode"] == "batched"
    ]
    heads = ["engine", "batching", "tokens", "texts", "max abs diff", "p99 abs diff", "labels equal @0.5"]
    return f"{data['model']}, {data['texts']} texts, CPU bf16 units: {data['cpu_bf16_units']}\n\n" + table(heads, rows, "lllrrrr")


def int8_quality(name: str = "int8-quality-goemotions-small.json") -> str:
    """``benchmarks/int8_quality.py``: macro-F1 of float32 and int8 on the GoEmotions test split."""
    data = _result(name)
    rows = [
        [key.replace("macro_f1_", "").replace("_", " "), f"{data['float32'][key]:.4f}", f"{data['int8'][key]:.4f}"]
        for key in data["float32"]
    ]
    summary = (
        f"{data['model']} on {data['texts']:,} GoEmotions test texts: int8 labels equal float32's on "
        f"{data['labels_equal_at_0.5']:.2%} of text × label pairs at 0.5 (quantizing took {data['quantize_s']:.0f} s)."
    )
    return summary + "\n\n" + table(["macro-F1, thresholds", "float32", "int8"], rows, "lrr")


def explain_speed(names: Mapping[str, str]) -> str:
    """``benchmarks/explain.py``: explained texts per second, per model and backend."""
    rows = []
    for title, name in names.items():
        data = _result(name)
        speed = data.get("explain_texts_per_s")
        rows.append([title, "" if speed is None or math.isnan(speed) else f"{speed:.1f}"])
    return table(["model and backend", "explained texts/s"], rows, "lr")


def bundled_model_f1(name: str = "int8-quality-goemotions-small.json") -> str:
    """goemotions-small's macro-F1 on the GoEmotions test split in float32, from ``benchmarks/int8_quality.py``'s result."""
    data = _result(name)
    f1 = data["float32"]
    return (
        f"`{data['model']}` on the {data['texts']:,} texts of the GoEmotions test split, float32 "
        f"(`benchmarks/results/{name}`): macro-F1 **{f1['macro_f1_at_0.5']:.3f}** at 0.5 and "
        f'**{f1["macro_f1_shipped_tuned"]:.3f}** with the thresholds tuned on dev and shipped with it (`threshold="tuned"`).'
    )


def finetune_throughput(names: Mapping[str, str]) -> str:
    """``benchmarks/finetune.py throughput``: training examples/s and peak memory, per model and precision."""
    rows = []
    for title, name in names.items():
        data = _result(name)
        for row in data["rows"]:
            rows.append([title, row["precision"], f"{row['examples_per_s']:.1f}", f"{row['tokens_per_s']:,}",
                         f"{row['peak_rss_mb']:,}", f"{row['steps']} × {row['batch_size']}"])  # fmt: skip
        machine = data["machine"]
    heads = ["model", "precision", "examples/s", "tokens/s", "peak RSS MB", "steps × batch"]
    where = (
        f"{machine['cpu']} ({machine['cpu_bf16_units']} for bf16), {machine['cores']} cores, torch {machine['torch']}; "
        f"kept in `benchmarks/results/` ({', '.join(f'`{n}`' for n in names.values())})."
    )
    return table(heads, rows, "llrrrr") + "\n\n" + where


def finetune_quality(name: str) -> str:
    """``benchmarks/finetune.py quality``: test macro-F1 before and after training, and the minutes it cost."""
    data = _result(name)
    rows = []
    for row in data["rows"]:
        start, trained = row["baseline"], row["trained"]
        rows.append([row["what"], row["labels"], f"{row['train_examples']:,}", f"{row['minutes']:.1f}",
                     f"{start['at_0.5']:.4f} → {trained['at_0.5']:.4f}",
                     f"{start['tuned_on_dev']:.4f} → {trained['tuned_on_dev']:.4f}"])  # fmt: skip
    heads = ["experiment", "labels", "training examples", "minutes", "test macro-F1 at 0.5", "tuned on dev"]
    machine = data["machine"]
    settings = data["settings"]
    where = (
        f"From `{data['model']}`, learning rate {settings['learning_rate']}, batch {settings['batch_size']}, "
        f"positive_weight {settings.get('positive_weight', 'none')!r}, seed "
        f"{settings['seed']}; {machine['cpu']}, {machine['cores']} cores, torch {machine['torch']}; measured {data['date']}, "
        f"kept in `benchmarks/results/{name}`, by:\n\n```bash\n{data['command']}\n```"
    )
    return table(heads, rows, "lrrrrr") + "\n\n" + where


def annotation_selection(name: str = "annotation-selection-100k.json") -> str:
    """``benchmarks/annotation_loop.py selection``: scoring and picking time for many texts."""
    data = _result(name)
    rows = [["scoring", f"{data['scoring_seconds']:.1f}", f"{data['texts_per_second']:,.0f} texts/s"]]
    rows += [[f"pick {data['n']}: `{strategy}`", f"{pick['seconds']:.2f}", ""] for strategy, pick in data["pick"].items()]
    rows.append(["the whole `sample` command: read, score, pick, write", f"{data['sample_command_seconds']:.1f}", ""])
    machine = data["machine"]
    where = (
        f"{data['rows']:,} texts, `{data['model']}` ({data['engine']}); {machine['cpu']}, {machine['cores']} cores; "
        f"measured {data['date']}, kept in `benchmarks/results/{name}`, by:\n\n```bash\n{data['command']}\n```"
    )
    return table(["step", "seconds", ""], rows, "lrl") + "\n\n" + where


def annotation_loop(name: str = "annotation-loop-small.json") -> str:
    """``benchmarks/annotation_loop.py loop``: test macro-F1 before and after training on the reviewed texts."""
    data = _result(name)
    rows = []
    for row in data["rows"]:
        (start_half, start_tuned), (after_half, after_tuned) = row["test_macro_f1_start"], row["test_macro_f1_after"]
        (held_start,), (held_after,) = row["reviewed_dev_macro_f1_start"], row["reviewed_dev_macro_f1_after"]
        rows.append([f"`{row['strategy']}`", f"{row['mean_gold_labels_per_text']:.2f}",
                     f"{held_start:.4f} → {held_after:.4f} ({held_after - held_start:+.4f})",
                     f"{start_half:.4f} → {after_half:.4f} ({after_half - start_half:+.4f})",
                     f"{start_tuned:.4f} → {after_tuned:.4f} ({after_tuned - start_tuned:+.4f})",
                     f"{row['minutes']:.1f}"])  # fmt: skip
    heads = ["texts picked by", "gold labels per text", "held-out reviewed texts, at 0.5", "test split, at 0.5",
             "test split, tuned thresholds", "minutes"]  # fmt: skip
    machine = data["machine"]
    where = (
        f"From `{data['model']}`, {data['n']} texts picked from the GoEmotions train split and answered with their gold "
        f"labels, 80% trained on for {data['epochs']} epochs (model-last), 20% held out; thresholds of both models tuned on "
        f"the held-out texts; one seed "
        f"({data['seed']}); {machine['cpu']}, {machine['cores']} cores; measured {data['date']}, kept in "
        f"`benchmarks/results/{name}`, by:\n\n```bash\n{data['command']}\n```"
    )
    return table(heads, rows, "lrrrrr") + "\n\n" + where


def student_presets() -> str:
    """The distillation presets: their shape and parameter count with the bundled and ModernBERT-base vocabularies."""
    from spacy_goemotions.distillation.students import STUDENT_PRESETS

    def parameters(shape: Any, vocab: int, labels: int = 28) -> int:
        # ModernBERT without biases: token embeddings + norm; per layer fused QKV, output projection, gated MLP
        # (Wi: hidden -> 2 x intermediate, Wo: intermediate -> hidden) and two norms, but the first layer's attention
        # norm is an identity; the final norm; the head (dense + norm) and the classifier (with its bias).
        h, i, n = shape.hidden_size, shape.intermediate_size, shape.num_hidden_layers
        per_layer = 3 * h * h + h * h + h * 2 * i + i * h + 2 * h
        return vocab * h + h + n * per_layer - h + h + (h * h + h) + (h * labels + labels)

    rows = [
        [f"`{name}`", shape.hidden_size, shape.num_hidden_layers, shape.num_attention_heads, shape.intermediate_size,
         f"{parameters(shape, 12288) / 1e6:.1f} M", f"{parameters(shape, 50368) / 1e6:.1f} M"]
        for name, shape in STUDENT_PRESETS.items()
    ]  # fmt: skip
    heads = ["preset", "width", "layers", "heads", "MLP width", "parameters (goemotions-small's vocabulary, 12k)",
             "parameters (ModernBERT-base's, 50k)"]  # fmt: skip
    return table(heads, rows, "lrrrrrr")


def distillation(name: str = "distill-small-to-tiny.json") -> str:
    """``benchmarks/distill.py quality``: the student against its teacher, macro-F1 on the test split and texts/s."""
    data = _result(name)
    f1, speed, record = data["test_macro_f1"], data["speed"], data["record"]
    rows = [
        [f"teacher: `{data['teacher']}`", f"{f1['teacher']:.4f}", "1.00", f"{speed['teacher_texts_per_s']:,.0f}", "1.0"],
        [f"student: `{data['student']}` ({record['student']['parameters'] / 1e6:.1f} M parameters)", f"{f1['student']:.4f}",
         f"{f1['ratio']:.2f}", f"{speed['student_texts_per_s']:,.0f}", f"{speed['speedup']:.1f}"],
    ]  # fmt: skip
    agree = record["agreement"]
    machine = data["machine"]
    where = (
        f"Agreement with the teacher on {agree['texts']:,} held-out texts: {agree['decisions']:.1%} of (text, label) "
        f"decisions equal, {agree['texts_equal']:.1%} of label sets, Spearman {agree['spearman']:.2f}. Distilling took "
        f"{data['distill_seconds'] / 60:.1f} min ({record['training']['teacher_scoring_seconds']:.0f} s of teacher scoring); "
        f"speed on {speed['texts']:,} Reddit comments, {speed['engine']}, one after the other in one process. "
        f"{machine['cpu']} ({machine['cpu_bf16_units']}), {machine['cores']} cores; kept in `benchmarks/results/{name}`, "
        f"by:\n\n```bash\n{data['command']}\n```"
    )
    heads = ["model", "test macro-F1", "× teacher", "texts/s", "× teacher"]
    return table(heads, rows, "lrrrr") + "\n\n" + where


def distillation_base(name: str = "distill-base-skeleton.json") -> str:
    """``benchmarks/distill.py base``: the pipeline at ModernBERT-base size (times only: the weights are random)."""
    data = _result(name)
    speed, machine = data.get("speed") or {}, data["machine"]
    rows = [
        ["teacher scoring, per 10,000 texts", f"{data['teacher_seconds_per_10k_texts']:.0f} s"],
        [f"training the `{data['student']}` student: {data['record']['texts']['training']:,} texts × "
         f"{data['record']['settings']['epochs']} epochs (at most {data['steps']} steps)", f"{data['training_seconds']:.0f} s"],
    ]
    if speed:
        rows.append([f"texts/s, teacher → student ({speed['engine']})",
                     f"{speed['teacher_texts_per_s']:,.0f} → {speed['student_texts_per_s']:,.0f} ({speed['speedup']:.0f}×)"])  # fmt: skip
    where = (
        f"{data['unlabelled_texts']:,} Reddit comments; {machine['cpu']} ({machine['cpu_bf16_units']}), {machine['cores']} "
        f"cores; kept in `benchmarks/results/{name}`, by:\n\n```bash\n{data['command']}\n```"
    )
    return table(["step", "time"], rows, "lr") + "\n\n" + where
