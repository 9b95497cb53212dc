"""Keep only the chosen options' files in the new project, then print the next steps.

Runs inside the generated project folder and touches nothing outside it, so re-running it
(as cruft does on template updates) is harmless.
"""

import shutil
from pathlib import Path

PROJECT = Path.cwd()
PACKAGE_DIR = PROJECT / "src" / "{{ cookiecutter.package_name }}"
VECTOR_STORE = "{{ cookiecutter.vector_store }}"
LLM = "{{ cookiecutter.llm }}"
EMBEDDINGS = "{{ cookiecutter.embeddings }}"


def keep_chosen_vector_store() -> None:
    """Each backend is one module under ``index/_stores/``; the chosen one becomes ``index/store.py``."""
    stores = PACKAGE_DIR / "index" / "_stores"
    if not stores.is_dir():
        return
    (stores / f"{VECTOR_STORE}.py").replace(PACKAGE_DIR / "index" / "store.py")
    shutil.rmtree(stores)


def remove_other_store_files() -> None:
    """Modules and tests that serve one backend ship with that backend only."""
    if VECTOR_STORE != "chroma":  # the others run their own servers and keyword search
        for module in (
            "index/chroma_server.py",
            "index/chroma_vectors.py",
            "index/keywords.py",
            "index/keyword_retriever.py",
        ):
            (PACKAGE_DIR / module).unlink(missing_ok=True)
        for test in ("test_keywords.py", "test_chroma_vectors.py"):
            (PROJECT / "tests" / "index" / test).unlink(missing_ok=True)
    if VECTOR_STORE != "weaviate":
        (PROJECT / "tests" / "index" / "test_weaviate_without_server.py").unlink(missing_ok=True)


def remove_language_model_files() -> None:
    """With llm=none there are no prompts, and no generated answers to reuse as verified answers, to
    wait for or to grade, nor a model to name topics."""
    if LLM == "none":
        for path in (
            PACKAGE_DIR / "feedback" / "verified.py",
            PACKAGE_DIR / "answering" / "deadlines.py",
            PACKAGE_DIR / "answering" / "prompts.py",
            PACKAGE_DIR / "answering" / "tokens.py",
            PACKAGE_DIR / "evaluation" / "answer_quality.py",
            PACKAGE_DIR / "insights" / "labels.py",
            PROJECT / "tests" / "feedback" / "test_verified.py",
            PROJECT / "tests" / "evaluation" / "test_answer_quality.py",
        ):
            path.unlink(missing_ok=True)


def remove_local_model_files() -> None:
    """Embeddings from an API need no model on this machine, and cannot be fine-tuned here."""
    if EMBEDDINGS != "local":
        (PACKAGE_DIR / "index" / "local_embedding.py").unlink(missing_ok=True)
        (PACKAGE_DIR / "index" / "onnx_embedding.py").unlink(missing_ok=True)
        (PROJECT / "tests" / "index" / "test_local_embedding.py").unlink(missing_ok=True)
        (PROJECT / "tests" / "index" / "test_onnx_embedding.py").unlink(missing_ok=True)
        # Fine-tuning trains the local model; an API's model is not ours to train.
        shutil.rmtree(PACKAGE_DIR / "evaluation" / "finetune", ignore_errors=True)
        shutil.rmtree(PROJECT / "tests" / "evaluation" / "finetune", ignore_errors=True)
        (PROJECT / "dags" / "finetune.py").unlink(missing_ok=True)
        (PROJECT / "scripts" / "benchmark_finetune.py").unlink(missing_ok=True)
        (PROJECT / "scripts" / "benchmark_embeddings.py").unlink(missing_ok=True)


def print_next_steps() -> None:
    print(
        "\n".join(
            [
                "",
                "Created {{ cookiecutter.project_slug }} ({{ cookiecutter.vector_store }}, "
                "{{ cookiecutter.embeddings }} embeddings, llm={{ cookiecutter.llm }}).",
                "Next steps:",
                "  cd {{ cookiecutter.project_slug }}",
                "  cp .env.example .env      # then fill in what it asks for",
                "  make demo                 # install, ingest sample_docs/ with Airflow, start the UI",
                "  make test                 # run the project's tests",
                "",
            ]
        )
    )


def main() -> None:
    keep_chosen_vector_store()
    remove_other_store_files()
    remove_language_model_files()
    remove_local_model_files()
    print_next_steps()


if __name__ == "__main__":
    main()
