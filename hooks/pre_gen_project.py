"""Validate the answers before anything is written; exit non-zero with a clear message otherwise."""

import keyword
import re
import sys

SLUG = "{{ cookiecutter.project_slug }}"
PACKAGE = "{{ cookiecutter.package_name }}"
VECTOR_STORE = "{{ cookiecutter.vector_store }}"
EMBEDDINGS = "{{ cookiecutter.embeddings }}"
LLM = "{{ cookiecutter.llm }}"

VECTOR_STORES = {"chroma", "pgvector", "weaviate"}


def problems() -> list[str]:
    found = []
    if not re.fullmatch(r"[a-z][a-z0-9]*(-[a-z0-9]+)*", SLUG):
        found.append(
            f"project_slug {SLUG!r} must be lowercase letters, digits and single hyphens, "
            "starting with a letter (for example 'ask-docs')."
        )
    if not re.fullmatch(r"[a-z][a-z0-9_]*", PACKAGE) or keyword.iskeyword(PACKAGE):
        found.append(
            f"package_name {PACKAGE!r} must be an importable Python name: lowercase letters, "
            "digits and underscores, starting with a letter, not a Python keyword (for example 'ask_docs')."
        )
    if VECTOR_STORE not in VECTOR_STORES:
        found.append(
            f"vector_store={VECTOR_STORE!r} is not one this template knows; "
            f"choose one of: {', '.join(sorted(VECTOR_STORES))}."
        )
    return found


def main() -> int:
    errors = problems()
    for error in errors:
        print(f"ERROR: {error}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
