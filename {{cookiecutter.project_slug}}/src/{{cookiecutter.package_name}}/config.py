"""All settings in one place: environment variables (prefix ``RAG_``) and an optional ``.env`` file."""

from pathlib import Path
from typing import Literal

{% if cookiecutter.llm != "none" or cookiecutter.embeddings == "openai" -%}
from pydantic import AliasChoices, BaseModel, Field, SecretStr, model_validator
{%- elif cookiecutter.vector_store != "chroma" -%}
from pydantic import BaseModel, Field, SecretStr, model_validator
{%- else -%}
from pydantic import BaseModel, Field, model_validator
{%- endif %}
from pydantic_settings import BaseSettings, SettingsConfigDict
{%- if cookiecutter.vector_store == "pgvector" %}
from sqlalchemy.engine import make_url
{%- endif %}

ChunkingStrategy = Literal["markdown", "sentence", "tokens", "code"]
Access = Literal["public", "internal"]  # each chunk's label; queries see the labels they are given
{%- if cookiecutter.embeddings == "local" %}
EmbeddingBackend = Literal["torch", "onnx", "onnx-int8"]
{%- endif %}


class Account(BaseModel):
    """A user of the web UI: a password hash from ``hash-password``, and the user's groups."""

    password_hash: str = Field(pattern=r"^scrypt\$")
    groups: list[str] = []


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RAG_", env_file=".env", extra="ignore")

    project_name: str = "{{ cookiecutter.project_name }}"  # the name the UI shows
{%- if cookiecutter.vector_store == "chroma" %}
    data_dir: Path = Field(Path(".data"), description="Vector store files, feedback DB.")
{%- elif cookiecutter.vector_store == "weaviate" %}
    data_dir: Path = Field(Path(".data"), description="The feedback DB.")
{%- endif %}

    # Sources and ingestion. With a sources file, it lists the sources (see sources.example.toml);
    # without one, the folder source_dir is the only source, named "local".
    sources_file: Path = Path("sources.toml")  # the sources, as in sources.example.toml
    source_cache_dir: Path = Field(Path(".data/sources"), description="Git checkouts, web mirrors.")
    source_dir: Path = Path("sample_docs")  # without a sources file, the folder read
    source_access: Access = "public"  # the access label of source_dir's documents
    max_file_bytes: int = 5_000_000  # larger files are skipped, with the reason
    # source_include, source_exclude: globs on paths relative to the folder ("*" also crosses
    # folders); excludes win.
    source_include: list[str] = ["*"]
    source_exclude: list[str] = []
    redact: bool = Field(False, description="Hide e-mail addresses and secrets before indexing.")
    chunking: ChunkingStrategy = "markdown"  # by headings; or sentence, tokens, code
{%- if cookiecutter.embeddings == "local" %}
    # all-MiniLM-L6-v2 reads at most 256 word pieces; longer chunks would be cut when embedded.
    chunk_size: int = Field(256, ge=32, description="Tokens per chunk.")
    chunk_overlap: int = Field(32, ge=0, description="Tokens neighbouring chunks share.")
{%- else %}
    chunk_size: int = Field(512, ge=32, description="Tokens per chunk.")
    chunk_overlap: int = Field(64, ge=0, description="Tokens neighbouring chunks share.")
{%- endif %}
    passage_window: int = Field(
        1, ge=0, le=3, description="Neighbouring chunks on each side that a match is read with."
    )
    ingest_batch_size: int = Field(200, ge=1, description="Documents per mapped Airflow task.")
    # Index versions: a full refresh, or another embedding model or chunking, builds a new version
    # beside the live one, which answers until the new one is complete (see index/versions.py).
    keep_versions: int = Field(
        2,
        ge=2,
        description="Index versions kept: the live one, and the newest before it to roll back to.",
    )
    index_version: str | None = Field(
        None,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,120}$",  # it names a table or a collection
        description="Read and write this index version (e.g. docs__v3) instead of the live one.",
    )
{%- if cookiecutter.vector_store == "chroma" %}

    # Vector store: Chroma. Unless chroma_url names a server, the project runs its own on loopback for
    # data_dir, started on first use and shared by the UI, Airflow and the CLI; "embedded" opens the
    # files in this process instead, which suits one process only (a notebook, a script, the tests).
    chroma_url: str | None = None
    chroma_mode: Literal["server", "embedded"] = "server"  # the own server, or in this process
    chroma_server_idle_minutes: float = Field(
        15.0,
        gt=0,
        description="The project's own Chroma server stops once no process has used it for this long "
        "(the next use starts it again).",
    )
    collection: str = "docs"  # the Chroma collection
    # Keywords help where a small model is weak (option names, error codes): on the evaluation sets,
    # MRR@10 0.653 -> 0.696 (PostgreSQL manual) and 0.823 -> 0.885 (sample docs).
    hybrid_search: bool = Field(
        True, description="Also match by keywords: a full-text index kept beside the collection."
    )
{%- elif cookiecutter.vector_store == "pgvector" %}

    # Vector store: PostgreSQL with pgvector. The feedback tables go in the same database by default.
    # database_url: the database with pgvector, for the chunks and (by default) the feedback.
    database_url: SecretStr = SecretStr("postgresql://postgres:postgres@localhost:5432/rag")
    collection: str = Field("docs", description="The chunks go in table data_<collection>.")
    hybrid_search: bool = Field(
        False, description="Also match by full-text search; switching it on needs a full refresh."
    )
    text_search_config: str = "english"  # PostgreSQL's language for full-text search
{%- elif cookiecutter.vector_store == "weaviate" %}

    # Vector store: Weaviate, local, self-hosted or Weaviate Cloud (*.weaviate.cloud, with an API key).
    weaviate_url: str = "http://localhost:8080"  # or https://<cluster>.weaviate.cloud
    weaviate_grpc_port: int = 50051  # self-hosted only; Weaviate Cloud's is fixed
    weaviate_api_key: SecretStr | None = None  # for Weaviate Cloud
    collection: str = Field("Docs", description="Weaviate collection; starts with a capital.")
    hybrid_search: bool = Field(False, description="Weaviate's native BM25 + vector search.")
{%- endif %}

    # Embeddings
{%- if cookiecutter.embeddings == "local" %}
    embedding_model: str = "sentence-transformers/all-MiniLM-L6-v2"  # a name or a local folder
    embedding_device: str = "cpu"  # or "cuda", "mps"
    # ONNX Runtime fp32 embeds as PyTorch does, faster on a CPU; int8 faster still, but it lost
    # retrieval quality on the evaluation sets (`make benchmark-embeddings`). A change re-embeds the
    # index into a new version: the backend is part of the pipeline tag.
    embedding_backend: EmbeddingBackend = Field(
        "onnx", description="What runs the model: PyTorch, or ONNX Runtime in fp32 or int8 (CPU)."
    )
    embedding_onnx_dir: Path = Field(
        Path(".data/onnx"), description="ONNX exports of the embedding model, made once."
    )
    # Fine-tuning the embedding model on the feedback: the finetune_embeddings DAG, run on demand.
    finetune_dir: Path = Field(
        Path(".data/finetune"), description="Tuned models (the UI reads them), experiments' pairs."
    )
    finetune_margin: float = Field(
        0.02, ge=0, le=1, description="MRR@10 a tuned model must gain on held-out questions."
    )
    finetune_time_budget_s: int = Field(
        900, ge=1, description="Training stops after the step that passes this many seconds."
    )
    finetune_epochs: int = Field(1, ge=1, le=50, description="Passes over the training pairs.")
    finetune_learning_rate: float = Field(
        2e-5, gt=0, le=1e-2, description="AdamW's, after warm-up."
    )
    finetune_batch_size: int = Field(16, ge=2, le=512, description="Pairs per training step.")
    finetune_min_pairs: int = Field(
        20, ge=1, description="With fewer training pairs than this, no experiment runs."
    )
    finetune_held_out: float = Field(
        0.3, gt=0, lt=1, description="Share of documents whose questions are held out and scored."
    )
{%- if cookiecutter.vector_store == "pgvector" %}
    embedding_dimensions: int = Field(384, description="The model's vector size; sizes the table.")
{%- endif %}
{%- else %}
    embedding_model: str = "text-embedding-3-small"  # any model the server offers
    embedding_dimensions: int = Field(1536, description="text-embedding-3 can shorten vectors.")
    embedding_base_url: str | None = Field(
        None, description="An OpenAI-compatible embeddings server; unset: api.openai.com."
    )
{%- endif %}
    embed_batch_size: int = 32  # chunks per embedding call
    # The UI's models (embedding, reranking) read a few short texts per call: on one thread, the
    # other cores stay free for the other visitors' requests (on every core, the models' idle threads
    # spin and starve them).
    ui_model_threads: int = Field(
        1, ge=1, description="CPU threads of each model in the UI (embedding, reranking)."
    )

    # Answering
{%- if cookiecutter.llm == "openai" %}
    llm_model: str = "gpt-4o-mini"  # a model the API offers
    llm_base_url: str | None = Field(None, description="Leave unset for api.openai.com.")
{%- elif cookiecutter.llm == "openai_compatible" %}
    llm_model: str = "llama3.2"  # a model the server offers
    llm_base_url: str = "http://localhost:11434/v1"  # the server's OpenAI-compatible API
{%- endif %}
{%- if cookiecutter.llm != "none" or cookiecutter.embeddings == "openai" %}
    openai_api_key: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("RAG_OPENAI_API_KEY", "OPENAI_API_KEY"),
        description="The API key: kept out of logs, prompts and stored answers.",
    )
{%- endif %}
{%- if cookiecutter.llm != "none" %}
    # A person waits llm_first_token_s for the model to start answering (then gets the passages), and
    # llm_total_s for the whole answer (then it is cut off); llm_timeout_s bounds each HTTP request.
    llm_first_token_s: float = Field(15.0, gt=0)
    llm_total_s: float = Field(120.0, gt=0)
    llm_timeout_s: float = 30.0
    llm_temperature: float = 0.1  # low: answers keep to the sources
    llm_max_tokens: int = Field(700, ge=16, description="Longest answer, in tokens.")
    multi_query: int = Field(
        0, ge=0, le=5, description="Rephrasings of each question the model writes, searched too."
    )
    judge_model: str | None = Field(
        None,
        description="`eval --judge`: the model that grades answers (unset: llm_model), on the same "
        "server. A larger model than the one that answers grades more reliably.",
    )
    # Each answer's trace holds its tokens and their estimated cost. A model missing here has an
    # unknown cost, never a zero one.
    llm_prices: dict[str, tuple[float, float]] = Field(
{%- if cookiecutter.llm == "openai" %}
        {"gpt-4o-mini": (0.15, 0.60)},
{%- else %}
        {"llama3.2": (0.0, 0.0)},  # a model on a server of your own costs nothing per token
{%- endif %}
        description="US dollars per million prompt and completion tokens, by model.",
    )
    topics_llm_labels: bool = Field(
        True, description="Name topics with the language model (else by their key words)."
    )
{%- endif %}
    top_k: int = Field(4, ge=1, le=50, description="Chunks an answer is given and shows.")
    # Question topics (the question_topics DAG, `topics`, `gaps`, the maintainers' page).
    topics_min_size: int = Field(
        5, ge=2, le=1000, description="Questions a topic needs at least; fewer are left as noise."
    )
    # Agglomerative clustering holds every pair's distance: about 0.45 GB for 10,000 questions.
    topics_max_questions: int = Field(
        10_000, ge=10, le=1_000_000, description="The newest questions of the period a run groups."
    )
    gap_rate: float = Field(
        0.3,
        ge=0,
        le=1,
        description="A topic is a documentation gap when at least this share of its questions were "
        "not covered by the docs (closest chunk below min_similarity), or of its rated answers were "
        "rated not helpful.",
    )
    gaps_shown: int = Field(10, ge=1, le=100, description="Gaps listed, the most needed first.")
{%- if cookiecutter.embeddings == "local" %}
    # Below this cosine similarity of the closest chunk, the documents do not cover a question: the
    # answer says so (and shows the closest passages) instead of answering from them. Calibrated for
    # all-MiniLM-L6-v2; another model needs its own value (0 turns the check off).
    min_similarity: float = Field(0.2, ge=0, le=1)
{%- else %}
    # Below this cosine similarity of the closest chunk, the documents do not cover a question: the
    # answer says so (and shows the closest passages). 0: off; calibrate it for your model.
    min_similarity: float = Field(0.0, ge=0, le=1)
{%- endif %}
    # Reranking: a cross-encoder rereads the question with each of the first rerank_candidates
    # matches and reorders them. rerank_model is a Hugging Face repository with an ONNX export (or a
    # local folder holding one and its tokenizer.json); rerank_onnx_file is the export to load.
    # Off by default: ms-marco-MiniLM-L12-v2 ranked worse than hybrid search on the PostgreSQL
    # manual's questions and takes about 1.8 s a question on 2 cores. Measure it on yours (`eval`).
    rerank: bool = False
    rerank_model: str = "cross-encoder/ms-marco-MiniLM-L12-v2"
    rerank_onnx_file: str = "onnx/model_quint8_avx2.onnx"
    rerank_candidates: int = Field(30, ge=1, le=100)
    max_chunks_per_document: int = Field(
        3, ge=1, description="Places one document may take among a question's results."
    )
    # Globs on document ids ("source:path"), case-insensitive: such pages rank after all others.
    demote_documents: list[str] = ["*changelog*", "*release-notes*", "*release_notes*"]
    # Access labels that answers may draw on, e.g. ["public", "internal"]
    query_access: list[Access] = Field(["public"], min_length=1)
    max_question_chars: int = Field(1000, ge=10, description="Longer questions are refused.")
    # The web UI answers this many questions at once and holds at most ui_queue_size waiting; beyond
    # that a visitor is told the app is busy, instead of everyone waiting behind one slow answer.
    ui_concurrency: int = Field(8, ge=1)
    ui_queue_size: int = Field(64, ge=1)
    # Behind a reverse proxy: ui_root_path, the path the UI is served under (such as "/ask"), and
    # ui_trusted_proxies, whose X-Forwarded-For and -Proto headers are believed (addresses, or "*").
    ui_root_path: str = Field("", pattern=r"^(/[A-Za-z0-9._~-]+)*$")
    ui_trusted_proxies: str = "127.0.0.1"
    # ui_questions_per_minute, ui_ratings_per_minute: how often the visitors of one client (a
    # signed-in user, else an address) may ask and rate.
    ui_questions_per_minute: int = Field(20, ge=1)
    ui_ratings_per_minute: int = Field(30, ge=1)

    # Who may use the web UI (docs/security.md). Without auth_users or auth_header anyone who reaches it
    # may ask, and reads the query_access labels; signed-in users also read their groups' labels.
    auth_users: dict[str, Account] = Field(
        {},
        description='{"name": {"password_hash": "scrypt$...", "groups": ["staff"]}}: a login page.',
    )
    auth_header: str | None = Field(
        None, description="Header in which an auth proxy in front names the signed-in user."
    )
    auth_groups_header: str | None = Field(
        None, description="Header in which that proxy lists the user's groups, comma-separated."
    )
    auth_required: bool = Field(False, description="With auth_header: refuse anyone not signed in.")
    maintainers_group: str = Field(
        "maintainers",
        min_length=1,
        description="The group whose members may open the maintainers' page (/maintainers).",
    )
    group_access: dict[str, list[Access]] = Field(
        {},
        description='Labels a group may read besides query_access, e.g. {"staff": ["internal"]}.',
    )
    eval_questions: Path = Field(
        Path("eval/questions.jsonl"), description="The question set that `eval` scores by default."
    )

    # Airflow connections: in DAG tasks, a connection may name the vector store{% if cookiecutter.embeddings == "openai" %} and one the embeddings
    # API{% endif %} instead of the settings above, kept in Airflow's connections or secrets backend
    # (connections.py). The web UI and the CLI always use the settings.
    store_conn_id: str | None = Field(
        None, description="The Airflow connection of the {% if cookiecutter.vector_store == "pgvector" %}database{% elif cookiecutter.vector_store == "chroma" %}Chroma server{% else %}Weaviate server{% endif %}, in DAG tasks."
    )
{%- if cookiecutter.embeddings == "openai" %}
    embeddings_conn_id: str | None = Field(
        None, description="The Airflow connection (type openai) of the embeddings API, for DAGs."
    )
{%- endif %}

    # Feedback
    # What others see of one visitor's ratings: a question reaches the landing view, and an answer is
    # reused as verified, only once this many distinct raters found it helpful or a maintainer
    # approved it (`review`, `approve`); with sharing_needs_approval, only after approval.
    sharing_min_raters: int = Field(3, ge=1)
    sharing_needs_approval: bool = False
    feedback_db_url: str | None = None  # any SQLAlchemy URL; default: {% if cookiecutter.vector_store != "pgvector" %}SQLite in data_dir{% else %}database_url{% endif %}
{%- if cookiecutter.llm != "none" %}
    # Well-rated answers go back into the index as verified answers (the feedback_loop DAG).
    verified_min_net_score: int = Field(
        1, ge=1, description="Helpful minus unhelpful ratings an answer needs to be promoted."
    )
    verified_similarity: float = Field(
        0.95,
        gt=0,
        le=1,
        description="Cosine similarity of two questions above which a verified answer is reused as is.",
    )
{%- endif %}

    @model_validator(mode="after")
    def _one_way_to_sign_in(self) -> "Settings":
        if self.auth_users and self.auth_header:
            raise ValueError("set auth_users or auth_header, not both")
        return self
{%- if cookiecutter.embeddings == "local" %}

    @model_validator(mode="after")
    def _onnx_runs_on_the_cpu(self) -> "Settings":
        if self.embedding_device != "cpu" and self.embedding_backend != "torch":
            raise ValueError(
                f"embedding_backend {self.embedding_backend} runs on the CPU: with embedding_device "
                f"{self.embedding_device}, set RAG_EMBEDDING_BACKEND=torch"
            )
        return self
{%- endif %}

    def with_chunking(
        self,
        strategy: ChunkingStrategy | None = None,
        chunk_size: int | None = None,
        chunk_overlap: int | None = None,
    ) -> "Settings":
        """These settings with a run's chunking choices on top; ``None`` keeps the configured value."""
        chosen = {"chunking": strategy, "chunk_size": chunk_size, "chunk_overlap": chunk_overlap}
        return self.model_copy(update={key: v for key, v in chosen.items() if v is not None})

    def pinned(self, version: str, embedding_model: str | None = None) -> "Settings":
        """These settings reading and writing one index version instead of the live one (embedding
        with ``embedding_model``, the one that version's vectors come from, if given)."""
        model = {"embedding_model": embedding_model} if embedding_model else {}
        return self.model_copy(update={"index_version": version, **model})

    @property
    def feedback_url(self) -> str:
{%- if cookiecutter.vector_store == "pgvector" %}
        return self.feedback_db_url or postgres_url(self.database_url.get_secret_value())
{%- else %}
        return self.feedback_db_url or f"sqlite:///{self.data_dir.resolve() / 'feedback.db'}"
{%- endif %}
{%- if cookiecutter.vector_store == "chroma" %}

    @property
    def chroma_path(self) -> Path:
        return self.data_dir / "chroma"
{%- endif %}
{%- if cookiecutter.vector_store == "pgvector" %}


def postgres_url(database_url: str) -> str:
    """A ``postgresql://`` URL as users write it, for SQLAlchemy with the psycopg 3 driver."""
    url = make_url(database_url).set(drivername="postgresql+psycopg")
    return url.render_as_string(hide_password=False)
{%- endif %}
