"""deploy/: compose and Kubernetes run the same roles, the same way, probed the same way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.roles import Role
from bot.settings import Settings

DEPLOY = Path(__file__).parent.parent / "deploy"
PORT = 8765  # the Dockerfile's APPRENTICE_WEB_PORT and EXPOSE
ROLES = {"gateway": 1, "worker": 2, "scheduler": 1}  # role -> replicas
SHARED = {"DATABASE_URL", "REDIS_URL", "APPRENTICE_BUS", "APPRENTICE_MASTER_KEY"}


def compose() -> dict[str, Any]:
    return yaml.safe_load((DEPLOY / "compose.yml").read_text())


def kubernetes() -> list[dict[str, Any]]:
    text = (DEPLOY / "kubernetes" / "apprentice.yaml").read_text()
    return [doc for doc in yaml.safe_load_all(text) if doc]


def of_kind(kind: str) -> list[dict[str, Any]]:
    return [doc for doc in kubernetes() if doc["kind"] == kind]


def role_of(command: list[str]) -> str:
    assert command[:2] == ["apprentice", "run"] and command[2] == "--role", command
    return command[3]


def test_the_dockerfile_listens_where_the_manifests_probe() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert f"APPRENTICE_WEB_PORT={PORT}" in dockerfile and f"EXPOSE {PORT}" in dockerfile


def test_compose_runs_each_role_with_its_replicas() -> None:
    services = compose()["services"]
    roles = {name: role_of(s["command"]) for name, s in services.items() if "command" in s
             and s["command"][:2] == ["apprentice", "run"]}  # fmt: skip
    assert roles == {name: name for name in ROLES}
    for name, replicas in ROLES.items():
        assert Role(roles[name])
        assert services[name].get("deploy", {}).get("replicas", 1) == replicas


def test_compose_gives_every_role_the_shared_settings_and_a_probe() -> None:
    services = compose()["services"]
    for name in ROLES:
        service = services[name]
        env = service["environment"]
        assert set(env) >= SHARED, name
        assert env["APPRENTICE_BUS"] == "redis"
        assert env["REDIS_URL"].startswith("redis://redis:") and "redis" in service["depends_on"]
        assert env["DATABASE_URL"].startswith("postgres://") and "postgres" in service["depends_on"]
        probe = " ".join(service["healthcheck"]["test"])
        assert re.search(rf"127\.0\.0\.1:{PORT}/(readyz|healthz)", probe), name
    assert services["gateway"]["ports"] == [f"127.0.0.1:{PORT}:{PORT}"]
    assert not any("ports" in services[name] for name in ROLES if name != "gateway")


def test_kubernetes_runs_each_role_with_its_replicas() -> None:
    deployments = {d["metadata"]["name"]: d for d in of_kind("Deployment")}
    assert set(deployments) == {f"apprentice-{role}" for role in ROLES}
    for role, replicas in ROLES.items():
        deployment = deployments[f"apprentice-{role}"]
        spec = deployment["spec"]
        assert spec["replicas"] == replicas
        assert spec["selector"]["matchLabels"] == {"app": "apprentice", "role": role}
        assert spec["template"]["metadata"]["labels"] == {"app": "apprentice", "role": role}
        [container] = spec["template"]["spec"]["containers"]
        assert Role(role_of(container["args"])) == Role(role)


@pytest.mark.parametrize("role", sorted(ROLES))
def test_kubernetes_probes_health_and_readiness_on_the_web_port(role: str) -> None:
    [deployment] = [d for d in of_kind("Deployment") if d["metadata"]["name"].endswith(role)]
    [container] = deployment["spec"]["template"]["spec"]["containers"]
    assert container["ports"] == [{"name": "http", "containerPort": PORT}]
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}


def test_kubernetes_gives_every_role_the_same_settings() -> None:
    [secret], [config] = of_kind("Secret"), of_kind("ConfigMap")
    names = set(secret["stringData"]) | set(config["data"])
    assert names >= SHARED
    assert config["data"]["APPRENTICE_BUS"] == "redis"
    for deployment in of_kind("Deployment"):
        [container] = deployment["spec"]["template"]["spec"]["containers"]
        assert container["envFrom"] == [
            {"secretRef": {"name": secret["metadata"]["name"]}},
            {"configMapRef": {"name": config["metadata"]["name"]}},
        ]


def test_only_the_gateway_is_reachable_from_the_platforms() -> None:
    [service] = of_kind("Service")
    assert service["spec"]["selector"] == {"app": "apprentice", "role": "gateway"}
    assert [p["targetPort"] for p in service["spec"]["ports"]] == ["http"]


def test_every_setting_the_manifests_name_is_one_apprentice_reads() -> None:
    known = {
        alias.upper()
        for field in Settings.model_fields.values()
        for alias in getattr(field.validation_alias, "choices", [])
    }
    [secret], [config] = of_kind("Secret"), of_kind("ConfigMap")
    named = set(secret["stringData"]) | set(config["data"])
    for name in ROLES:
        named |= set(compose()["services"][name]["environment"])
    assert named <= known, named - known
