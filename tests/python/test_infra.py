"""Deployment files (issue 9), checked without a Docker engine or AWS account:
the pipeline Dockerfile and docker-compose.yml parsed and cross-checked against
the repository; the ETL entry script run with a stand-in `coeqwal`; the database
bootstrap run against the real server; Terraform formatted (`terraform fmt`) and
its modules consistent (variables, outputs, module calls, references), since
`terraform init/validate` needs the provider registry, which is unreachable here;
the optional read replica and the URL PostgREST reads it with (libpq on the real
server); docs/scaling.md linked, its settings and measured figures those of the
repository."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import urllib.parse
import uuid
from pathlib import Path

import pytest
import yaml

from ingest.config import DatabaseUrl
from tests.python.conftest import ROOT

DOCKER = ROOT / "infra" / "docker"
TERRAFORM = ROOT / "infra" / "terraform"
MODULES = ("network", "storage", "database", "etl", "api", "monitoring")
# called from other modules, not from the root
SHARED_MODULES = ("ecs_task",)
ALL_MODULES = MODULES + SHARED_MODULES


# --- Dockerfile -----------------------------------------------------------------

DOCKERFILE_INSTRUCTIONS = {
    "FROM", "RUN", "CMD", "LABEL", "EXPOSE", "ENV", "ADD", "COPY", "ENTRYPOINT",
    "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL", "HEALTHCHECK", "SHELL",
}  # fmt: skip


def dockerfile_instructions(path: Path) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    out: list[tuple[str, str]] = []
    pending = ""
    for raw in path.read_text().splitlines():
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if pending and line.startswith("#"):
            continue
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        word, _, args = full.partition(" ")
        out.append((word, args.strip()))
    assert not pending, "Dockerfile ends in a line continuation"
    return out


def dockerignore_patterns() -> list[str]:
    path = DOCKER / "Dockerfile.pipeline.dockerignore"
    return [
        line.strip()
        for line in path.read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]


def is_ignored(rel: str, patterns: list[str]) -> bool:
    return any(
        fnmatch.fnmatch(rel, pat.lstrip("*/"))
        or rel == pat
        or rel.startswith(pat.rstrip("/") + "/")
        for pat in patterns
    )


def test_dockerfile_is_valid_pinned_and_non_root():
    instructions = dockerfile_instructions(DOCKER / "Dockerfile.pipeline")
    words = [word for word, _ in instructions]
    unknown = [w for w in words if w not in DOCKERFILE_INSTRUCTIONS]
    assert not unknown, f"not Dockerfile instructions (or not upper case): {unknown}"
    first = next(i for i, w in enumerate(words) if w != "ARG")
    assert instructions[first] == ("FROM", "python:3.11-slim")

    users = [(i, args) for i, (w, args) in enumerate(instructions) if w == "USER"]
    entry = [(i, args) for i, (w, args) in enumerate(instructions) if w == "ENTRYPOINT"]
    assert users and entry
    assert users[-1][0] < entry[-1][0], "USER must be set before ENTRYPOINT"
    assert users[-1][1].split(":")[0] not in ("root", "0")
    assert json.loads(entry[-1][1]) == ["coeqwal"]  # exec form, the console script
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'coeqwal = "ingest.cli:main"' in pyproject

    runs = " ".join(args for w, args in instructions if w == "RUN")
    assert "pip install -r requirements.lock" in runs  # the pinned tree
    assert "pip install --no-deps ." in runs
    env = " ".join(args for w, args in instructions if w == "ENV")
    assert "COEQWAL_HOME=/app" in env  # PROJECT_ROOT (ingest/config.py) = the dbt project


def test_dockerfile_copy_sources_exist_and_are_not_ignored():
    instructions = dockerfile_instructions(DOCKER / "Dockerfile.pipeline")
    patterns = dockerignore_patterns()
    copied = []
    for word, args in instructions:
        if word not in ("COPY", "ADD"):
            continue
        parts = [p for p in shlex.split(args) if not p.startswith("--")]
        *sources, _dest = parts
        for src in sources:
            path = ROOT / src
            assert path.exists(), f"COPY source missing in the build context: {src}"
            assert not is_ignored(src.rstrip("/"), patterns), f"COPY source ignored: {src}"
            copied.append(src.rstrip("/"))
    # what the image needs at run time: the package, the dbt project, the scripts
    for needed in ("requirements.lock", "pyproject.toml", "ingest", "dbt_project.yml",
                   "profiles.example.yml", "models", "seeds", "macros", "tests/dbt",
                   "infra/docker/etl_task.sh", "infra/docker/bootstrap_roles.py"):  # fmt: skip
        assert needed in copied, f"{needed} is not copied into the image"
    # test-paths / model-paths of the dbt project are all there
    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text())
    for key in ("model-paths", "seed-paths", "test-paths", "macro-paths", "analysis-paths"):
        for folder in project[key]:
            assert folder in copied, f"dbt {key} {folder} not copied"
    # and the bulky local state never enters the context
    for local in (".venv", ".coeqwal", "target", "target_infra", ".git"):
        assert is_ignored(local, patterns), local


# --- docker-compose.yml -------------------------------------------------------------


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DOCKER / "docker-compose.yml").read_text())


def test_compose_services_images_and_ports(compose):
    services = compose["services"]
    assert set(services) == {"db", "bootstrap", "pipeline", "api"}
    assert services["db"]["image"] == "postgis/postgis:15-3.4"
    assert services["api"]["image"].startswith("postgrest/postgrest:v")
    for name in ("bootstrap", "pipeline"):
        build = services[name]["build"]
        context = (DOCKER / build["context"]).resolve()
        assert context == ROOT
        assert (context / build["dockerfile"]).is_file()
        assert services[name]["restart"] == "no"  # one-shot jobs
    published = {}
    for name, svc in services.items():
        for port in svc.get("ports", []):
            host_part, _, container = port.rpartition(":")
            assert container.isdigit(), port
            assert host_part.startswith("127.0.0.1:"), f"{name} publishes beyond loopback"
            published[name] = int(container)
    assert published == {"db": 5432, "api": 3000}
    conf = (ROOT / "infra" / "postgrest" / "postgrest.conf").read_text()
    assert re.search(r"^server-port = 3000$", conf, re.M)


def test_compose_healthchecks_and_dependencies_are_consistent(compose):
    services = compose["services"]
    for name in ("db", "api"):
        test = services[name]["healthcheck"]["test"]
        assert test[0] in ("CMD", "CMD-SHELL") and len(test) >= 2
    assert "pg_isready" in services["db"]["healthcheck"]["test"][1]
    for name, svc in services.items():
        for dep, cond in (svc.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            condition = cond["condition"]
            if condition == "service_healthy":
                assert "healthcheck" in services[dep], f"{dep} has no healthcheck"
            elif condition == "service_completed_successfully":
                assert services[dep].get("restart") == "no", f"{dep} is not a one-shot job"
            else:
                assert condition == "service_started"
    # order: db healthy -> bootstrap -> pipeline -> api
    assert services["bootstrap"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert "bootstrap" in services["pipeline"]["depends_on"]
    assert "pipeline" in services["api"]["depends_on"]


def _expand(value: str) -> str:
    """${VAR:-default} -> default, as compose does with the variable unset."""
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", value)


def test_compose_wiring_matches_the_code(compose):
    services = compose["services"]
    pipeline_url = DatabaseUrl.parse(
        _expand(services["pipeline"]["environment"]["COEQWAL_DATABASE_URL"])
    )
    boot = {k: _expand(str(v)) for k, v in services["bootstrap"]["environment"].items()}
    assert pipeline_url.host == "db" == boot["PGHOST"]
    assert pipeline_url.database == boot["COEQWAL_DB_NAME"]
    assert pipeline_url.user == boot["COEQWAL_OWNER_USER"]
    assert pipeline_url.password == boot["COEQWAL_OWNER_PASSWORD"]
    assert services["pipeline"]["command"] == ["run"]
    from ingest.cli import parser

    parser().parse_args(services["pipeline"]["command"])  # a real subcommand

    api = services["api"]
    api_url = DatabaseUrl.parse(_expand(api["environment"]["PGRST_DB_URI"]))
    assert (api_url.user, api_url.password) == ("authenticator", boot["AUTHENTICATOR_PASSWORD"])
    assert api_url.database == pipeline_url.database
    mounts = {}
    for volume in api["volumes"]:
        src, dest, *_ = volume.split(":")
        assert (DOCKER / src).resolve().is_file(), f"mounted file missing: {src}"
        mounts[dest] = src
    assert api["command"][-1] in mounts  # postgrest reads the mounted configuration
    # the admin port enables the `postgrest --ready` health check
    assert api["healthcheck"]["test"] == ["CMD", "postgrest", "--ready"]
    assert api["environment"]["PGRST_ADMIN_SERVER_PORT"]
    entry = services["bootstrap"]["entrypoint"]
    assert entry[0] == "python" and entry[1].startswith("/app/")
    assert (ROOT / entry[1].removeprefix("/app/")).is_file()


# --- the ETL task's entry script -------------------------------------------------------


def _run_etl(tmp_path: Path, key: str, task: str | None = None):
    stub = tmp_path / "bin"
    stub.mkdir(exist_ok=True)
    log = tmp_path / "calls.log"
    (stub / "coeqwal").write_text(f'#!/bin/sh\necho "$@" >> {log}\n')
    (stub / "coeqwal").chmod(0o755)
    env = {"PATH": f"{stub}:/usr/bin:/bin", "DSS_BUCKET": "coeqwal-dss", "DSS_KEY": key}
    if task is not None:
        env = {"PATH": env["PATH"], "COEQWAL_TASK": task}
    proc = subprocess.run(
        ["sh", str(DOCKER / "etl_task.sh")],
        env=env,
        capture_output=True,
        text=True,
    )
    calls = log.read_text().splitlines() if log.exists() else []
    return proc, calls


def test_etl_task_ingests_the_uploaded_file_then_builds(tmp_path):
    proc, calls = _run_etl(tmp_path, "uploads/s0020/s0020_DV.dss")
    assert proc.returncode == 0, proc.stderr
    assert calls == [
        "ingest dss --scenario s0020 s3://coeqwal-dss/uploads/s0020/s0020_DV.dss",
        "build",
    ]


def test_etl_task_audits_on_the_nightly_schedule(tmp_path):
    """The scheduled rule of modules/etl starts the ETL task with COEQWAL_TASK=audit:
    no upload, `coeqwal audit` alone."""
    proc, calls = _run_etl(tmp_path, "", task="audit")
    assert proc.returncode == 0, proc.stderr
    assert calls == ["audit"]
    etl = module_text(TERRAFORM / "modules" / "etl")
    rule = resource_blocks(etl)["aws_cloudwatch_event_rule.audit"]
    assert "schedule_expression = var.audit_schedule" in rule
    target = resource_blocks(etl)["aws_cloudwatch_event_target.audit"]
    assert "aws_cloudwatch_event_rule.audit.name" in target
    assert re.search(r'name\s*=\s*"COEQWAL_TASK",\s*value\s*=\s*"audit"', target)


def test_etl_task_refuses_a_key_without_scenario_folder(tmp_path):
    proc, calls = _run_etl(tmp_path, "s0020_DV.dss")
    assert proc.returncode != 0 and calls == []
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "<scenario_id>" in proc.stderr


# --- the database bootstrap (compose service and ECS task), on the real server -----------


@pytest.mark.db
def test_bootstrap_roles_creates_database_owner_and_postgis(test_db):
    suffix = uuid.uuid4().hex[:8]
    database, owner = f"coeqwal_boot_{suffix}", f"coeqwal_owner_{suffix}"
    env = {
        **os.environ,
        "PGHOST": test_db.host,
        "PGPORT": str(test_db.port),
        "PGUSER": test_db.user,
        "PGPASSWORD": test_db.password or "x",
        "PGDATABASE": test_db.database,
        "COEQWAL_DB_NAME": database,
        "COEQWAL_OWNER_USER": owner,
        "COEQWAL_OWNER_PASSWORD": "owner-test-pw",
        "AUTHENTICATOR_PASSWORD": "authenticator-test-pw",
    }
    from tests.python.conftest import sql_runner

    admin = sql_runner(test_db.url())
    script = [sys.executable, str(DOCKER / "bootstrap_roles.py")]
    try:
        for _ in range(2):  # idempotent: the second run only resets the passwords
            proc = subprocess.run(script, env=env, capture_output=True, text=True, timeout=120)
            assert proc.returncode == 0, proc.stderr
        rows = admin(
            "select d.datname, r.rolname, r.rolcanlogin, r.rolcreaterole "
            "from pg_database d join pg_roles r on r.oid = d.datdba where d.datname = %s",
            (database,),
        )
        assert rows == [(database, owner, True, True)]
        roles = dict(
            admin(
                "select rolname, rolcanlogin::text || rolinherit::text from pg_roles "
                "where rolname in ('web_anon', 'authenticator')"
            )
        )
        assert roles == {"web_anon": "falsetrue", "authenticator": "truefalse"}
        target = sql_runner(test_db.with_database(database).url())
        assert target("select extname from pg_extension where extname = 'postgis'") == [
            ("postgis",)
        ]
        member = admin("select pg_has_role('authenticator', 'web_anon', 'member')")
        assert member == [(True,)]
        # a missing password: one line, non-zero, nothing else
        proc = subprocess.run(
            script, env={**env, "AUTHENTICATOR_PASSWORD": ""}, capture_output=True, text=True
        )
        assert proc.returncode != 0
        assert proc.stderr.strip() == "bootstrap_roles: set AUTHENTICATOR_PASSWORD"
    finally:
        admin(f'drop database if exists "{database}"')
        admin(f'drop role if exists "{owner}"')


# --- Terraform ---------------------------------------------------------------------------


def test_terraform_fmt_check():
    terraform = shutil.which("terraform")
    if terraform is None:
        pytest.skip("terraform is not installed (make lint says so too)")
    proc = subprocess.run(
        [terraform, "fmt", "-check", "-recursive", "-diff", str(TERRAFORM)],
        capture_output=True,
        text=True,
        env={**os.environ, "TF_CLI_CONFIG_FILE": "/dev/null"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def blocks(text: str, kind: str) -> dict[str, str]:
    """`kind "name" { ... }` blocks of an HCL file, by name, with brace matching."""
    found = {}
    for match in re.finditer(rf'^{kind}\s+"([^"]+)"\s*\{{', text, re.M):
        depth, i = 1, match.end()
        while depth:
            ch = text[i]
            depth += ch == "{"
            depth -= ch == "}"
            i += 1
        found[match.group(1)] = text[match.end() : i - 1]
    return found


def resource_blocks(text: str) -> dict[str, str]:
    found = {}
    for match in re.finditer(r'^(resource|data)\s+"([^"]+)"\s+"([^"]+)"\s*\{', text, re.M):
        depth, i = 1, match.end()
        while depth:
            depth += text[i] == "{"
            depth -= text[i] == "}"
            i += 1
        prefix = "data." if match.group(1) == "data" else ""
        found[f"{prefix}{match.group(2)}.{match.group(3)}"] = text[match.end() : i - 1]
    return found


def module_text(path: Path) -> str:
    return "\n".join(p.read_text() for p in sorted(path.glob("*.tf")))


def declared(path: Path, kind: str) -> dict[str, str]:
    return blocks(module_text(path), kind)


def test_terraform_layout_and_descriptions():
    for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf"):
        assert (TERRAFORM / name).is_file(), name
    versions = (TERRAFORM / "versions.tf").read_text()
    assert re.search(r'source\s*=\s*"hashicorp/aws"\s*\n\s*version\s*=\s*"~> 5', versions)
    for path in [TERRAFORM, *(TERRAFORM / "modules" / m for m in ALL_MODULES)]:
        for filename in ("main.tf", "variables.tf", "outputs.tf"):
            assert (path / filename).is_file(), path / filename
        if path != TERRAFORM:
            assert (path / "README.md").is_file(), path / "README.md"
        for kind in ("variable", "output"):
            items = declared(path, kind)
            assert items or kind == "variable", f"{path.name}: no {kind}s"
            undocumented = [
                n for n, body in items.items() if not re.search(r"description\s*=\s*\S", body)
            ]
            assert not undocumented, f"{path.name}: {kind}s without description: {undocumented}"


def module_calls(path: Path) -> dict[str, tuple[Path, str]]:
    """module "X" blocks of a configuration: name -> (resolved source folder, body)."""
    calls = {}
    for name, body in blocks(module_text(path), "module").items():
        source = re.search(r'source\s*=\s*"([^"]+)"', body).group(1)
        assert source.startswith(("./", "../")), f"{path.name}: module {name} is not local"
        calls[name] = ((path / source).resolve(), body)
    return calls


def test_terraform_modules_calls_and_references_are_consistent():
    root_calls = module_calls(TERRAFORM)
    assert set(root_calls) == set(MODULES)
    for name, (path, _body) in root_calls.items():
        assert path == (TERRAFORM / "modules" / name).resolve()
    called = set()
    for caller in [TERRAFORM, *(TERRAFORM / "modules" / m for m in ALL_MODULES)]:
        calls = module_calls(caller)
        for name, (path, body) in calls.items():
            assert path.parent == (TERRAFORM / "modules").resolve() and path.is_dir(), (
                f"{caller.name}: module {name} has source {path}"
            )
            called.add(path.name)
            variables = declared(path, "variable")
            passed = set(re.findall(r"^\s*(\w+)\s*=", body, re.M)) - {"source", "depends_on"}
            required = {
                n for n, b in variables.items() if not re.search(r"^\s*default\s*=", b, re.M)
            }
            assert not passed - set(variables), (
                f"{caller.name}: module {name}: unknown arguments {passed - set(variables)}"
            )
            assert not required - passed, (
                f"{caller.name}: module {name}: missing arguments {required - passed}"
            )
        # module.X.Y refers to an output Y of the module called X here
        for mod, out in set(re.findall(r"module\.(\w+)\.(\w+)", module_text(caller))):
            assert mod in calls, f"{caller.name}: module.{mod} is not called"
            outputs = declared(calls[mod][0], "output")
            assert out in outputs, f"{caller.name}: module.{mod}.{out} is not an output"
    assert called == set(ALL_MODULES), f"modules never called: {set(ALL_MODULES) - called}"
    # var.X everywhere is declared where it is used
    for path in [TERRAFORM, *(TERRAFORM / "modules" / m for m in ALL_MODULES)]:
        text = module_text(path)
        used = set(re.findall(r"\bvar\.(\w+)", text))
        missing = used - set(declared(path, "variable"))
        assert not missing, f"{path.name}: undeclared variables {missing}"
        unused = set(declared(path, "variable")) - used
        assert not unused, f"{path.name}: variables never used {unused}"
        resources = resource_blocks(text)
        for ref in set(re.findall(r"\b(aws_\w+\.\w+)\.\w+", text)):
            assert ref in resources or f"data.{ref}" in resources, f"{path.name}: {ref} undefined"
        for ref in set(re.findall(r"\bdata\.(aws_\w+\.\w+)", text)):
            assert f"data.{ref}" in resources, f"{path.name}: data.{ref} undefined"


def _resources(module: str) -> dict[str, str]:
    return resource_blocks(module_text(TERRAFORM / "modules" / module))


def test_terraform_storage_database_and_secrets():
    s3 = _resources("storage")
    assert 'status = "Enabled"' in s3["aws_s3_bucket_versioning.dss"]
    assert "sse_algorithm" in s3["aws_s3_bucket_server_side_encryption_configuration.dss"]
    block = s3["aws_s3_bucket_public_access_block.dss"]
    for flag in ("block_public_acls", "block_public_policy", "ignore_public_acls",
                 "restrict_public_buckets"):  # fmt: skip
        assert re.search(rf"{flag}\s*=\s*true", block), flag
    lifecycle = s3["aws_s3_bucket_lifecycle_configuration.dss"]
    assert "noncurrent_version_expiration" in lifecycle and "transition" in lifecycle
    assert re.search(r"eventbridge\s*=\s*true", s3["aws_s3_bucket_notification.dss"])

    db = _resources("database")["aws_db_instance.this"]
    for setting in (r'engine\s*=\s*"postgres"', r"manage_master_user_password\s*=\s*true",
                    r"storage_encrypted\s*=\s*true", r"deletion_protection\s*=\s*true",
                    r"publicly_accessible\s*=\s*false", r"backup_retention_period\s*=\s*var\.",
                    r"parameter_group_name\s*=\s*aws_db_parameter_group"):  # fmt: skip
        assert re.search(setting, db), setting
    params = _resources("database")["aws_db_parameter_group.this"]
    assert 'family      = "postgres15"' in params
    # The lock table of RDS as large as the embedded server's (a generic plan
    # locks one partition per scenario), set at the next reboot.
    from coeqwal_tools.localdb import SERVER_SETTINGS

    main_tf = (TERRAFORM / "modules" / "database" / "main.tf").read_text()
    locks = re.search(r'max_locks_per_transaction\s*=\s*"(\d+)"', main_tf)
    assert locks and locks.group(1) == SERVER_SETTINGS["max_locks_per_transaction"]
    assert int(locks.group(1)) >= 1024
    static = re.search(r"static_parameters\s*=\s*\[([^]]*)\]", main_tf).group(1)
    assert '"max_locks_per_transaction"' in static
    variables = declared(TERRAFORM / "modules" / "database", "variable")
    assert re.search(r'default\s*=\s*"15"', variables["engine_version"])


def test_terraform_read_replica_is_optional_encrypted_and_wired():
    database = TERRAFORM / "modules" / "database"
    replica = _resources("database")["aws_db_instance.replica"]
    # none unless asked for
    assert re.search(r"^\s*count\s*=\s*var\.read_replica_count\s*$", replica, re.M)
    variables = declared(database, "variable")
    assert re.search(r"^\s*default\s*=\s*0\s*$", variables["read_replica_count"], re.M)
    assert "validation" in variables["read_replica_count"]
    for setting in (r"replicate_source_db\s*=\s*aws_db_instance\.this\.identifier\s*$",
                    r"storage_encrypted\s*=\s*true", r"publicly_accessible\s*=\s*false",
                    r"parameter_group_name\s*=\s*aws_db_parameter_group\.this\.name",
                    r"vpc_security_group_ids\s*=\s*\[aws_security_group\.db\.id\]",
                    r"backup_retention_period\s*=\s*0\s*$", r"skip_final_snapshot\s*=\s*true",
                    r'identifier\s*=\s*"\$\{var\.name\}-replica-\$\{count\.index \+ 1\}"'):  # fmt: skip
        assert re.search(setting, replica, re.M), setting
    # what a same-region replica takes from its source (the provider refuses
    # most of these on a replica, and a final snapshot of a replica)
    arguments = set(re.findall(r"^\s*(\w+)\s*=", replica, re.M))
    inherited = {"engine", "engine_version", "username", "password", "db_name",
                 "manage_master_user_password", "db_subnet_group_name",
                 "final_snapshot_identifier", "allocated_storage"}  # fmt: skip
    assert not arguments & inherited, arguments & inherited
    outputs = declared(database, "output")
    assert "aws_db_instance.replica[*].endpoint" in outputs["replica_endpoints"]
    # the root: off by default, passed through, endpoints exported
    root_variables = declared(TERRAFORM, "variable")
    assert re.search(r"^\s*default\s*=\s*0\s*$", root_variables["db_read_replica_count"], re.M)
    assert re.search(r"^\s*default\s*=\s*false\s*$", root_variables["api_reads_from_replica"], re.M)
    calls = module_calls(TERRAFORM)
    assert re.search(
        r"read_replica_count\s*=\s*var\.db_read_replica_count\s*$", calls["database"][1], re.M
    )
    assert re.search(
        r'db_uri_secret_key\s*=\s*var\.api_reads_from_replica \? "read_url" : "url"',
        calls["api"][1],
    )
    assert (
        "module.database.replica_endpoints" in declared(TERRAFORM, "output")["db_replica_endpoints"]
    )
    # PostgREST takes the secret key it is given: the primary's url by default
    api_variables = declared(TERRAFORM / "modules" / "api", "variable")
    assert re.search(r'default\s*=\s*"url"', api_variables["db_uri_secret_key"])
    assert (
        'contains(["url", "read_url"], var.db_uri_secret_key)' in api_variables["db_uri_secret_key"]
    )
    task = _resources("api")["aws_ecs_task_definition.postgrest"]
    assert (
        '{ name = "PGRST_DB_URI", valueFrom = "${var.authenticator_secret_arn}'
        ':${var.db_uri_secret_key}::" }' in task
    )


def _read_url_templates() -> tuple[str, str, str]:
    """The login secrets' read_url with replicas, without them, and url."""
    secret = _resources("database")["aws_secretsmanager_secret_version.login"]
    match = re.search(
        r'read_url = \(\s*length\(local\.replica_hosts\) > 0\s*\?\s*"([^"]+)"\s*:\s*"([^"]+)"\s*\)',
        secret,
    )
    assert match, "read_url must be: replicas ? replicas then primary : url"
    url = re.search(r'^\s*url\s*=\s*"([^"]+)"', secret, re.M).group(1)
    return match.group(1), match.group(2), url


def test_terraform_read_url_lists_replicas_then_the_primary():
    with_replicas, without, url = _read_url_templates()
    assert without == url  # no replica: the primary, as PostgREST reads it today
    assert "@${local.primary_host}/" in url
    assert "@${local.read_hosts}/" in with_replicas
    text = module_text(TERRAFORM / "modules" / "database")
    assert re.search(
        r'read_hosts\s*=\s*join\(",", concat\(local\.replica_hosts, \[local\.primary_host\]\)\)',
        text,
    )
    assert re.search(
        r"replica_hosts\s*=\s*\[for replica in aws_db_instance\.replica : "
        r'"\$\{replica\.address\}:\$\{replica\.port\}"\]',
        text,
    )
    query = dict(urllib.parse.parse_qsl(with_replicas.partition("?")[2], strict_parsing=True))
    assert query == {"sslmode": "require", "target_session_attrs": "read-only"}


def _render_read_url(template: str, db, hosts: list[str]) -> str:
    values = {
        "${each.value.username}": urllib.parse.quote(db.user, safe=""),
        "${random_password.login[each.key].result}": urllib.parse.quote(db.password or "", safe=""),
        "${local.read_hosts}": ",".join(hosts),
        "${var.db_name}": db.database,
    }
    for placeholder, value in values.items():
        template = template.replace(placeholder, value)
    assert "${" not in template, template
    # RDS forces TLS (rds.force_ssl); the test server may have none
    return template.replace("sslmode=require", "sslmode=prefer")


@pytest.mark.db
def test_read_url_pool_needs_a_replica_and_listen_reaches_the_primary(test_db):
    """With read_url, PostgREST's pool connects only to a read-only server (a
    replica), never falling back to the primary; its LISTEN session, for which
    PostgREST forces target_session_attrs=read-write, skips the replicas and
    receives on the primary the NOTIFY a publish sends. libpq on the real server,
    with a replica that does not answer (nothing listens on port 1)."""
    import select

    import psycopg2

    with_replicas, _, _ = _read_url_templates()
    primary = f"{test_db.host}:{test_db.port}"
    url = _render_read_url(with_replicas, test_db, ["127.0.0.1:1", primary])
    assert url.index("127.0.0.1:1") < url.index(primary)

    with pytest.raises(psycopg2.OperationalError) as refused:
        psycopg2.connect(url, connect_timeout=5)
    assert "session is not read-only" in str(refused.value)  # the primary, reached and refused

    conf = (ROOT / "infra" / "postgrest" / "postgrest.conf").read_text()
    channel = re.search(r'^db-channel = "(\w+)"$', conf, re.M).group(1)
    publish_source = (ROOT / "ingest" / "publish.py").read_text()
    assert f"notify {channel}, 'reload schema'" in publish_source

    listen_url = url.replace("target_session_attrs=read-only", "target_session_attrs=read-write")
    listener = psycopg2.connect(listen_url, connect_timeout=5)
    sender = psycopg2.connect(test_db.url())
    try:
        listener.autocommit = sender.autocommit = True
        assert listener.info.port == test_db.port
        with listener.cursor() as cur:
            cur.execute("select pg_is_in_recovery()")
            assert cur.fetchone() == (False,)
            cur.execute(f"listen {channel}")
        with sender.cursor() as cur:
            cur.execute(f"notify {channel}, 'reload schema'")
        received = []
        for _ in range(50):
            if select.select([listener], [], [], 0.1)[0]:
                listener.poll()
                received += [(n.channel, n.payload) for n in listener.notifies]
                listener.notifies.clear()
            if received:
                break
        assert received == [(channel, "reload schema")]
    finally:
        listener.close()
        sender.close()


# --- docs/scaling.md ---------------------------------------------------------------------


def _normalized(path: Path) -> str:
    return " ".join(path.read_text().split())


def test_scaling_doc_is_linked_and_consistent_with_the_repository():
    doc = ROOT / "docs" / "scaling.md"
    text = doc.read_text()
    assert "[docs/scaling.md](docs/scaling.md)" in (ROOT / "README.md").read_text()
    assert "[scaling.md](scaling.md)" in (ROOT / "docs" / "operations.md").read_text()
    for target in re.findall(r"\]\(([^)#:]+)\)", text):
        assert (doc.parent / target).exists(), f"scaling.md links to a missing {target}"

    # every Terraform variable or output it names exists at the root
    root = set(declared(TERRAFORM, "variable")) | set(declared(TERRAFORM, "output"))
    named = set(re.findall(r"`((?:db|api)_[a-z_]+)`", text))
    assert {"db_read_replica_count", "api_reads_from_replica", "db_replica_endpoints"} <= named
    assert not named - root, f"not root variables or outputs: {named - root}"
    # `name` = N: the default of that variable, wherever it is declared
    defaults = {}
    for path in [TERRAFORM, *(TERRAFORM / "modules" / m for m in ALL_MODULES)]:
        for name, body in declared(path, "variable").items():
            if found := re.search(r"^\s*default\s*=\s*(\d+)\s*$", body, re.M):
                defaults[name] = found.group(1)
    quoted = re.findall(r"`([a-z_]+)` = (\d+)", text)
    assert quoted
    for name, value in quoted:
        assert defaults.get(name) == value, (
            f"scaling.md: {name} = {value}, declared {defaults.get(name)}"
        )
    # PostgREST settings it quotes are those of postgrest.conf
    conf = dict(
        re.findall(
            r'^([a-z-]+)\s*=\s*"?([^"\n]*)"?$',
            (ROOT / "infra" / "postgrest" / "postgrest.conf").read_text(),
            re.M,
        )
    )
    settings = re.findall(r"`(db-[a-z-]+)` = (\w+)", text) + re.findall(
        r"`(db-[a-z-]+) = (\w+)`", text
    )
    assert len(settings) >= 3
    for key, value in settings:
        assert conf.get(key) == value, (
            f"scaling.md: {key} = {value}, postgrest.conf {conf.get(key)}"
        )

    # the measured figures are the ones the repository reports, none invented
    section = text.split("## What one server does", 1)[1].split("\n## ", 1)[0]
    rows = [line for line in section.splitlines() if line.startswith("| ") and "---" not in line]
    sources = " ".join(
        _normalized(path)
        for path in [
            ROOT / "README.md",
            ROOT / "docs" / "operations.md",
            *sorted((TERRAFORM / "modules").glob("*/README.md")),
        ]
    )
    figures = []
    for row in rows[1:]:  # the header row names the columns
        measured = row.split("|")[2]
        figures += re.findall(r"\d+(?:[.,]\d+)*(?:-\d+)?", measured)
    assert len(figures) >= 8, figures
    for figure in figures:
        assert re.search(rf"(?<![\d.,]){re.escape(figure)}(?![\d.,]\d)", sources), (
            f"scaling.md reports {figure}, which no README or operations.md reports"
        )


def test_terraform_etl_trigger_and_least_privilege():
    etl = _resources("etl")
    rule = json.dumps(etl["aws_cloudwatch_event_rule.upload"])
    assert "Object Created" in rule and "aws.s3" in rule
    target = etl["aws_cloudwatch_event_target.etl"]
    assert "ecs_target" in target and 'launch_type         = "FARGATE"' in target
    assert "DSS_KEY" in target and "$.detail.object.key" in target
    # the task role reads only the upload prefix; no wildcard actions or resources
    task_policy = etl["data.aws_iam_policy_document.task"]
    assert "local.upload_objects" in task_policy and '"s3:*"' not in task_policy
    shared = _resources("ecs_task")
    for name, body in {**etl, **_resources("api"), **shared}.items():
        if name.startswith("data.aws_iam_policy_document"):
            assert not re.search(r'resources\s*=\s*\["\*"\]', body), name
            assert not re.search(r'actions\s*=\s*\["\w+:\*"\]', body), name
    # the execution roles (modules/ecs_task) read exactly the secrets they are given
    secrets = shared["data.aws_iam_policy_document.execution_secrets"]
    assert re.search(r"resources\s*=\s*var\.secret_arns\s*$", secrets, re.M)
    assert '["secretsmanager:GetSecretValue"]' in secrets
    assert "aws_iam_role.execution.id" in shared["aws_iam_role_policy.execution_secrets"]
    assert "AmazonECSTaskExecutionRolePolicy" in shared["aws_iam_role_policy_attachment.execution"]
    given = {}
    for module in ("etl", "api"):
        calls = module_calls(TERRAFORM / "modules" / module)
        (body,) = [b for p, b in calls.values() if p.name == "ecs_task"]
        arns = re.search(r"secret_arns\s*=\s*\[([^\]]*)\]", body).group(1)
        given[module] = set(re.findall(r"var\.(\w+)", arns))
    assert given == {
        "etl": {"owner_secret_arn", "master_secret_arn", "authenticator_secret_arn"},
        "api": {"authenticator_secret_arn"},
    }
    readme = (TERRAFORM / "modules" / "etl" / "README.md").read_text()
    scaling = (ROOT / "docs" / "scaling.md").read_text()
    assert "15 minutes" in readme
    for fact in ("26.5 s", "225 s", "141.3 s", "149.5 s"):
        assert fact in readme, fact
        assert fact in scaling, fact  # the sizing note quotes the measured figures
    task = etl["aws_ecs_task_definition.etl"]
    assert '"/app/infra/docker/etl_task.sh"' in task
    assert "COEQWAL_DATABASE_URL" in task


def test_terraform_api_mirrors_postgrest_conf():
    api = _resources("api")
    task = api["aws_ecs_task_definition.postgrest"]
    conf = (ROOT / "infra" / "postgrest" / "postgrest.conf").read_text()
    settings = dict(re.findall(r'^([a-z-]+)\s*=\s*"?([^"\n]*)"?$', conf, re.M))
    assert len(settings) >= 10
    for key, value in settings.items():
        env = "PGRST_" + key.upper().replace("-", "_")
        assert env in task, f"{key} of postgrest.conf is not set in the ECS task"
        if not value.startswith("$("):
            assert re.search(rf'name = "{env}", value = "{re.escape(value)}"', task) or (
                key == "server-port" and "tostring(local.port)" in task
            ), f"{env} differs from postgrest.conf ({value})"
    route = api["aws_apigatewayv2_route.api_v1"]
    assert '"ANY /api/v1/{proxy+}"' in route
    integration = api["aws_apigatewayv2_integration.postgrest"]
    assert 'connection_type    = "VPC_LINK"' in integration
    assert "aws_service_discovery_service.postgrest.arn" in integration


def test_terraform_alarms_cover_etl_api_and_rds():
    mon = _resources("monitoring")
    text = "\n".join(mon.values())
    assert "ECS Task State Change" in mon["aws_cloudwatch_event_rule.etl_failed"]
    assert "aws_sns_topic.alarms.arn" in mon["aws_cloudwatch_event_target.etl_failed"]
    for metric in ('"5xx"', '"CPUUtilization"', '"FreeStorageSpace"', '"EtlErrors"'):
        assert metric in text, metric
    alarms = [n for n in mon if n.startswith("aws_cloudwatch_metric_alarm.")]
    assert len(alarms) == 4
    for name in alarms:
        assert "alarm_actions       = [aws_sns_topic.alarms.arn]" in mon[name], name


# --- CI for analysts (.github/workflows) ------------------------------------------

WORKFLOWS = ROOT / ".github" / "workflows"


def workflow() -> dict:
    # PyYAML reads the key `on` as True (YAML 1.1); the tests read it as such.
    return yaml.safe_load((WORKFLOWS / "dbt.yml").read_text())


def test_workflows_match_githubs_schema(tmp_path):
    """check-jsonschema with GitHub's workflow schema (vendored in the package)."""
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert files, "no workflow in .github/workflows"
    checker = Path(sys.executable).parent / "check-jsonschema"
    proc = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", *map(str, files)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    # The check can fail: a job without runs-on is refused.
    broken = tmp_path / "broken.yml"
    broken.write_text("name: x\non: push\njobs:\n  j:\n    steps:\n      - run: true\n")
    proc = subprocess.run(
        [str(checker), "--builtin-schema", "vendor.github-workflows", str(broken)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode != 0


def test_workflow_lints_builds_slim_and_publishes_docs():
    """The workflow's commands are the product's own and its jobs do what the
    README says: lint, a build on a PostGIS service (slim on pull requests),
    the docs site on main."""
    from ingest.cli import parser

    flow = workflow()
    assert set(flow[True]) >= {"pull_request", "push"}
    jobs = flow["jobs"]
    assert set(jobs) == {"lint", "build", "docs"}
    url = DatabaseUrl.parse(flow["env"]["COEQWAL_DATABASE_URL"])
    for name, job in jobs.items():
        service = job["services"]["postgres"]
        assert service["image"].startswith("postgis/postgis:15-"), name
        assert service["env"]["POSTGRES_DB"] == url.database, name
        assert f"{url.port}:5432" in service["ports"], name
    runs = {
        name: "\n".join(step.get("run", "") for step in job["steps"]) for name, job in jobs.items()
    }
    assert "ruff check ingest coeqwal_tools tests" in runs["lint"]
    assert "python -m coeqwal_tools.lint_sql $changed" in runs["lint"]
    slim = 'coeqwal build --select "+state:modified+" --state main-state'
    assert slim in runs["build"]
    args = parser().parse_args(shlex.split(slim)[1:])
    assert (args.select, args.state) == ("+state:modified+", "main-state")
    assert "coeqwal run" in runs["build"]
    uploads = [s for s in jobs["build"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["with"]["name"] == "dbt-manifest"
    assert uploads[0]["with"]["path"] == "target/manifest.json"
    assert "--name dbt-manifest --dir main-state" in runs["build"]
    assert jobs["docs"]["if"] == "github.ref == 'refs/heads/main'"
    assert "python -m coeqwal_tools.docs" in runs["docs"]
    assert any("deploy-pages" in s.get("uses", "") for s in jobs["docs"]["steps"])
