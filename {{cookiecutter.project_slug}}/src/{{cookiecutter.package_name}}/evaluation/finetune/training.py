"""Training the embedding model on pairs: sentence-transformers' MultipleNegativesRankingLoss (each
question against its passage, its hard negative and the other passages of its batch), on the
configured device, for at most a time budget. The model is saved as a versioned folder with its
lineage (``lineage.json``): the base model, the data, the hyperparameters and the wall time.

A plain loop rather than sentence-transformers' Trainer: the Trainer needs the ``datasets`` and
``accelerate`` packages, and a few hundred pairs need none of what they add.
"""

import json
import math
import random
import re
import shutil
import time
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ...index.embeddings import no_progress_bars
from .pairs import Pair

LINEAGE = "lineage.json"


@dataclass(frozen=True)
class Hyperparameters:
    epochs: int
    batch_size: int
    learning_rate: float
    time_budget_s: float
    warmup_share: float = 0.1  # of the steps, over which the learning rate rises from 0
    seed: int = 0


@dataclass(frozen=True)
class TunedModel:
    path: Path
    lineage: dict[str, Any]


def batches(pairs: Sequence[Pair], size: int, rng: random.Random) -> Iterator[list[Pair]]:
    """Shuffled batches in which no question comes twice: a question's other passage must not be
    counted as a wrong answer to it."""
    waiting = list(pairs)
    rng.shuffle(waiting)
    while waiting:
        batch: list[Pair] = []
        later: list[Pair] = []
        for pair in waiting:
            fits = len(batch) < size and all(p.question != pair.question for p in batch)
            (batch if fits else later).append(pair)
        yield batch
        waiting = later


def train(
    base_model: str,
    pairs: Sequence[Pair],
    hyperparameters: Hyperparameters,
    *,
    device: str,
    models_dir: Path,
    data: dict[str, Any],
) -> TunedModel:
    """Train ``base_model`` on ``pairs`` and save it under ``models_dir``; ``data`` describes the
    pairs for the lineage."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import MultipleNegativesRankingLoss
    from sentence_transformers.util import batch_to_device
    from transformers import get_linear_schedule_with_warmup

    no_progress_bars()
    started = time.monotonic()
    hp = hyperparameters
    rng = random.Random(hp.seed)
    torch.manual_seed(hp.seed)
    model = SentenceTransformer(base_model, device=device)
    loss = MultipleNegativesRankingLoss(model)
    optimizer = torch.optim.AdamW(model.parameters(), lr=hp.learning_rate)
    planned = hp.epochs * math.ceil(len(pairs) / hp.batch_size)
    schedule = get_linear_schedule_with_warmup(
        optimizer, math.ceil(hp.warmup_share * planned), max(planned, 1)
    )
    # Questions and passages get the prompts the index embeds them with (none for most models).
    question_prompt, passage_prompt = model.prompts.get("query"), model.prompts.get("text")
    model.train()
    steps, out_of_time = 0, False
    for _ in range(hp.epochs):
        for batch in batches(pairs, hp.batch_size, rng):
            if time.monotonic() - started >= hp.time_budget_s:
                out_of_time = True
                break
            columns = [[p.question for p in batch], [p.positive.text for p in batch]]
            if all(p.negative for p in batch):
                columns.append([p.negative.text for p in batch if p.negative])
            prompts = [question_prompt] + [passage_prompt] * (len(columns) - 1)
            features = [
                batch_to_device(model.preprocess(texts, prompt=prompt), model.device)
                for texts, prompt in zip(columns, prompts, strict=True)
            ]
            loss(features, labels=None).backward()
            optimizer.step()
            schedule.step()
            optimizer.zero_grad()
            steps += 1
        if out_of_time:
            break
    model.eval()
    lineage = {
        "base_model": base_model,
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "data": data,
        "hyperparameters": asdict(hp),
        "device": device,
        "steps": steps,
        "stopped_by_time_budget": out_of_time,
        "train_s": round(time.monotonic() - started, 1),
    }
    return TunedModel(save(model, models_dir, base_model, lineage), lineage)


def save(model: Any, models_dir: Path, base_model: str, lineage: dict[str, Any]) -> Path:
    """Save the model and its lineage in a new folder, which appears whole or not at all."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%f")
    name = re.sub(r"[^A-Za-z0-9_.-]+", "-", Path(base_model).name).strip("-") or "model"
    final = models_dir.resolve() / f"{name}-tuned-{stamp}"
    partial = final.with_name(f".{final.name}.partial")
    models_dir.mkdir(parents=True, exist_ok=True)
    model.save(str(partial))
    lineage["size_mb"] = round(folder_size(partial) / 1e6, 1)
    (partial / LINEAGE).write_text(json.dumps(lineage, indent=2) + "\n", encoding="utf-8")
    partial.rename(final)
    return final


def folder_size(folder: Path) -> int:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())


def read_lineage(model: Path) -> dict[str, Any]:
    return dict(json.loads((model / LINEAGE).read_text(encoding="utf-8")))


def remove_models(models_dir: Path, keep: set[str]) -> list[str]:
    """Delete the saved tuned models that are not in ``keep`` (the ones index versions use); return
    their names. An unfinished save (a ``.partial`` folder) is left: another run may be writing it."""
    if not models_dir.is_dir():
        return []
    gone = []
    for folder in sorted(models_dir.iterdir()):
        finished = (folder / LINEAGE).is_file() and not folder.name.startswith(".")
        if finished and str(folder.resolve()) not in keep:
            shutil.rmtree(folder, ignore_errors=True)
            gone.append(folder.name)
    return gone
