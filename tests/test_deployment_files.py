"""A generated project's deployment files, checked without a Docker engine or a cluster: the compose
files and the CI workflow against their published JSON schemas (as vendored by check-jsonschema), the
Kubernetes manifests against Kubernetes's own schemas (as kubernetes-validate carries them), and the
stack's wiring (dependencies, queues, ports, names) against itself and the project."""

import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from .conftest import run

COMPOSE_FILES = ["docker-compose.yaml", "deploy/docker-compose.yaml"]


def compose(project: Path) -> dict[str, Any]:
    stack = yaml.safe_load((project / "deploy" / "docker-compose.yaml").read_text())
    assert isinstance(stack, dict)
    return stack


@pytest.mark.parametrize(
    ("schema", "files"),
    [
        ("vendor.compose-spec", COMPOSE_FILES),
        ("vendor.github-workflows", [".github/workflows/tests.yml"]),
    ],
)
def test_files_follow_their_specification(
    bakes: dict[str, Path], schema: str, files: list[str]
) -> None:
    every = [str(project / name) for project in bakes.values() for name in files]  # one start-up
    run([sys.executable, "-m", "check_jsonschema", "--builtin-schema", schema, *every], Path.cwd())


def test_a_broken_compose_file_is_caught(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("services:\n  ui:\n    image: x\n    ports: 7860\n")
    with pytest.raises(AssertionError, match="ports"):
        run(
            [
                sys.executable,
                "-m",
                "check_jsonschema",
                "--builtin-schema",
                "vendor.compose-spec",
                "compose.yaml",
            ],
            tmp_path,
        )


def test_the_stack_is_wired_together(bakes: dict[str, Path]) -> None:
    for name, project in bakes.items():
        services = compose(project)["services"]
        for service, spec in services.items():
            for needed, how in spec.get("depends_on", {}).items():
                assert needed in services, f"{name}: {service} depends on a missing {needed}"
                # A service that always starts may wait for a scale-out one only where it exists.
                optional = services[needed].get("profiles") and not spec.get("profiles")
                assert not optional or how.get("required") is False, (name, service, needed)
        airflow = services["airflow-scheduler"]["environment"]
        queue = airflow["RAG_EMBEDDINGS_QUEUE"]
        workers = [
            s["command"] for s in services.values() if "celery worker" in str(s.get("command"))
        ]
        assert any(f"--queues {queue}" in w for w in workers), f"{name}: no worker for {queue}"
        assert any("--queues default" in w for w in workers), f"{name}: no worker for the rest"
        # The LocalExecutor by default; the CeleryExecutor with Redis and its workers, for scale-out.
        assert airflow["AIRFLOW__CORE__EXECUTOR"] == "${AIRFLOW_EXECUTOR:-LocalExecutor}"
        scale_out = {s for s, spec in services.items() if spec.get("profiles") == ["celery"]}
        assert scale_out == {"redis", "airflow-worker", "airflow-worker-embeddings"}, name
        example = (project / "deploy" / ".env.example").read_text()
        assert "AIRFLOW_EXECUTOR=CeleryExecutor" in example and "COMPOSE_PROFILES=celery" in example
        for component in ("scheduler", "dag-processor", "triggerer", "api-server"):
            assert any(s.get("command") == component for s in services.values()), component
        ui = services["ui"]
        assert ui["command"][-1] == "7860" and "7860:7860" in ui["ports"][0]
        assert "/readyz" in " ".join(ui["healthcheck"]["test"])
        store = name.split("-")[0]
        if store != "pgvector":
            assert store in services, f"{name}: no {store} service"
            assert airflow["RAG_FEEDBACK_DB_URL"].startswith("postgresql+psycopg://")
        assert "postgres-init.sql" in " ".join(services["postgres"]["volumes"])
        assert (project / "deploy" / "postgres-init.sql").is_file()
        assert_data_is_shared(name, services)


# Tuned models and the embedding model's ONNX export: written by a task, read by the UI.
LOCAL_MODEL_FOLDERS = ("RAG_FINETUNE_DIR", "RAG_EMBEDDING_ONNX_DIR")

def assert_data_is_shared(name: str, services: dict[str, Any]) -> None:
    """What a task writes to the data folders (keyword index, tuned models), the UI must read: every
    service of the project's image keeps them on the one volume they all mount."""
    project_services = {s: spec for s, spec in services.items() if "build" in spec}
    assert "ui" in project_services and "airflow-scheduler" in project_services, name
    for service, spec in project_services.items():
        assert "project-data:/data" in spec["volumes"], (name, service)
        env = spec["environment"]
        folders = [key for key in env if key in ("RAG_DATA_DIR", *LOCAL_MODEL_FOLDERS)]
        assert "RAG_DATA_DIR" in folders
        assert all((key in folders) == ("-local-" in name) for key in LOCAL_MODEL_FOLDERS), name
        for key in folders:
            assert f"{env[key]}/".startswith("/data/"), (name, service, key)


def test_the_image_installs_the_project_on_the_official_airflow_image(
    bakes: dict[str, Path],
) -> None:
    for name, project in bakes.items():
        dockerfile = (project / "deploy" / "Dockerfile").read_text()
        assert "FROM apache/airflow:${AIRFLOW_VERSION}-python${PYTHON_VERSION}" in dockerfile
        pinned = dockerfile.split("ARG AIRFLOW_VERSION=")[1].split()[0]
        assert pinned.startswith("3.3."), (
            f"{name}: Airflow {pinned} in the image, 3.3 in the project"
        )
        local = "-local-" in name
        assert ("download.pytorch.org/whl/cpu" in dockerfile) == local, name
        ignored = (project / ".dockerignore").read_text().split()
        assert {".env", ".venv/", "deploy/.env"} <= set(ignored)


def manifests(project: Path) -> dict[str, dict[str, Any]]:
    """The UI's Kubernetes resources by kind."""
    documents = yaml.safe_load_all((project / "deploy" / "kubernetes" / "ui.yaml").read_text())
    return {document["kind"]: document for document in documents}


def test_the_kubernetes_manifests_follow_kubernetes_schemas(bakes: dict[str, Path]) -> None:
    for project in bakes.values():
        run(
            [sys.executable, "-m", "kubernetes_validate", "--strict", "deploy/kubernetes/ui.yaml"],
            project,
        )


def test_a_broken_manifest_is_caught(tmp_path: Path) -> None:
    (tmp_path / "ui.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata:\n  name: ui\nspec:\n  ports: 80\n"
    )
    with pytest.raises(AssertionError, match="ports"):
        run([sys.executable, "-m", "kubernetes_validate", "--strict", "ui.yaml"], tmp_path)


def test_the_helm_values_and_the_ui_share_settings_and_image(bakes: dict[str, Path]) -> None:
    """What the chart's schema cannot check: the names that tie Airflow's pods, the UI and the
    project together. (`helm template` checks the values against the chart on the CI runner.)"""
    for name, project in bakes.items():
        values = yaml.safe_load((project / "deploy" / "helm" / "values.yaml").read_text())
        resources = manifests(project)
        settings = resources["ConfigMap"]["metadata"]["name"]
        ui = resources["Deployment"]["spec"]["template"]["spec"]["containers"][0]
        secret = next(s["secretRef"]["name"] for s in ui["envFrom"] if "secretRef" in s)
        shared = yaml.safe_load(values["extraEnvFrom"])
        assert {"configMapRef": {"name": settings}} in shared, name
        assert {"secretRef": {"name": secret}} in shared, name
        assert values["executor"] == "KubernetesExecutor"
        env = {item["name"]: item["value"] for item in values["env"]}
        assert env["RAG_EMBEDDINGS_POD_MEMORY"].endswith("Gi")
        assert values["airflowVersion"].startswith("3.3.")
        assert values["config"]["core"]["dags_folder"] == "/opt/project/dags"
        assert "/opt/project/airflow/pools.json" in values["migrateDatabaseJob"]["args"][-1]
        image = values["images"]["airflow"]["repository"]
        assert ui["image"].startswith(image + ":"), name
        package = project.name.replace("-", "_")
        assert ui["command"] == [package] and ui["args"][0] == "serve"
        probes = {ui["readinessProbe"]["httpGet"]["path"], ui["livenessProbe"]["httpGet"]["path"]}
        assert probes == {"/readyz", "/healthz"}
        pods = resources["Deployment"]["spec"]["selector"]["matchLabels"]
        assert resources["Service"]["spec"]["selector"] == pods
        keys = [
            line.split("=")[0]
            for line in (project / "deploy/kubernetes/secrets.env.example").read_text().splitlines()
            if line and not line.startswith("#")
        ]
        store = name.split("-")[0]
        assert ("RAG_DATABASE_URL" if store == "pgvector" else "RAG_FEEDBACK_DB_URL") in keys
        # The data volume: one claim, mounted at one path by the UI and by every Airflow pod, which
        # holds the data folders of the shared settings.
        claim = resources["PersistentVolumeClaim"]
        assert claim["spec"]["accessModes"] == ["ReadWriteMany"], name
        claims = {
            volume["name"]: volume["persistentVolumeClaim"]["claimName"]
            for volume in resources["Deployment"]["spec"]["template"]["spec"]["volumes"]
        }
        ui_mounts = {claims[m["name"]]: m["mountPath"] for m in ui["volumeMounts"]}
        airflow_claims = {
            volume["name"]: volume["persistentVolumeClaim"]["claimName"]
            for volume in values["volumes"]
        }
        airflow_mounts = {airflow_claims[m["name"]]: m["mountPath"] for m in values["volumeMounts"]}
        path = ui_mounts[claim["metadata"]["name"]]
        assert airflow_mounts[claim["metadata"]["name"]] == path, name
        data = resources["ConfigMap"]["data"]
        for key in ("RAG_DATA_DIR", "RAG_SOURCE_CACHE_DIR", *LOCAL_MODEL_FOLDERS):
            if key in data:
                assert f"{data[key]}/".startswith(f"{path}/"), (name, key)
        assert all((key in data) == ("-local-" in name) for key in LOCAL_MODEL_FOLDERS), name
