"""The template's files as a generated project holds them, rendered for one combination of options
without running cookiecutter (the docs hooks read them; nothing is written)."""

import itertools
import json
from pathlib import Path

from cookiecutter.environment import StrictEnvironment
from cookiecutter.generate import generate_context
from cookiecutter.prompt import prompt_for_config

TEMPLATE = Path(__file__).resolve().parents[2]
PROJECT = TEMPLATE / "{{cookiecutter.project_slug}}"
OPTIONS = ("vector_store", "embeddings", "llm")
Combination = tuple[str, ...]


def choices() -> dict[str, list[str]]:
    """Each option's values, the default first (as cookiecutter.json lists them)."""
    config = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    return {option: config[option] for option in OPTIONS}


def combinations() -> list[Combination]:
    return list(itertools.product(*choices().values()))


def default_combination() -> Combination:
    return tuple(values[0] for values in choices().values())


def render(relative: str, combination: Combination) -> str:
    """The file at ``relative`` inside the project template, as that combination generates it."""
    chosen = dict(zip(OPTIONS, combination, strict=True))
    defaults = generate_context(str(TEMPLATE / "cookiecutter.json"), extra_context=chosen)
    context = {"cookiecutter": prompt_for_config(defaults, no_input=True)}
    environment = StrictEnvironment(context=context, keep_trailing_newline=True)
    return environment.from_string((PROJECT / relative).read_text()).render(**context)
