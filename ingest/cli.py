"""The `coeqwal` command line: the contract tests, benchmarks and users call.

Exit 0 on success; on failure one clear line on stderr and a non-zero exit.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from ingest import dlt_settings
from ingest.config import ConfigError, active_database, external_url, redact
from ingest.errors import DatabaseError, one_line

EXIT_FAILURE = 1
EXIT_USAGE = 2


class CommandError(Exception):
    """A failure to report as one line on stderr."""


def _db(args: argparse.Namespace) -> int:
    ext = external_url()
    if args.action == "url":
        print(active_database().url())
        return 0
    from coeqwal_tools import localdb

    if ext:
        if args.action == "status":
            from ingest import guard

            db = active_database()
            reason = guard.ping(db)
            if reason:
                raise CommandError(
                    f"external database {redact(db.url())} does not answer: {reason}"
                )
            print(f"external database: {redact(db.url())} (answering)")
            return 0
        print(f"COEQWAL_DATABASE_URL is set ({redact(ext)}): no embedded cluster to {args.action}")
        if args.action == "up":
            localdb.ensure_database(active_database())
        return 0
    cluster = localdb.EmbeddedCluster()
    if args.action == "up":
        cluster.up()
        url = active_database()  # COEQWAL_DATABASE may name another database than the default
        localdb.ensure_database(url)
        print(f"embedded PostgreSQL running on port {url.port} (data in {cluster.datadir})")
        print(url.url())
    elif args.action == "down":
        stopped = cluster.stop(localdb.find_bindir())
        print("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
    elif args.action == "status":
        if not cluster.initialized:
            print("embedded PostgreSQL: not initialised (run `coeqwal db up`)")
            return 3
        if cluster.running():
            print(f"embedded PostgreSQL: running, pid {cluster.pid()}, port {cluster.port}")
            print(f"data: {cluster.datadir}")
            return 0
        print(f"embedded PostgreSQL: stopped (data in {cluster.datadir})")
        return 3
    return 0


def _sample(args: argparse.Namespace) -> int:
    from coeqwal_tools.sample import dss as sample

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    if args.full_size:
        path = sample.write_full_size(out, progress=_progress_printer("writing series"))
        print(path)
    else:
        for path in sample.write_samples(out):
            print(path)
    return 0


def _progress_printer(label: str):
    """A progress callback that redraws one line on a terminal and is silent otherwise."""
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int) -> None:
        end = "\n" if done >= total else ""
        print(f"\r{label}: {done:,}/{total:,}", end=end, file=sys.stderr, flush=True)

    return show


def _ingest(args: argparse.Namespace) -> int:
    """A database that stops answering ends the ingest within
    guard.LOST_AFTER_SECONDS with one line naming it (loads are atomic)."""
    from ingest import guard

    with guard.watched(active_database(), guard.exit_lost):
        return _ingest_watched(args)


def _ingest_watched(args: argparse.Namespace) -> int:
    if args.kind == "dss":
        from ingest.dss import pipeline

        if args.manifest:
            results = pipeline.ingest_manifest(
                Path(args.manifest), progress=_progress_printer, force=args.force
            )
        else:
            if not args.scenario:
                raise CommandError("ingest dss: give --scenario ID with the file(s), or --manifest")
            if not args.paths:
                raise CommandError("ingest dss: give at least one DSS file path or s3:// URL")
            results = [
                pipeline.ingest_dss(
                    args.scenario, args.paths, progress=_progress_printer, force=args.force
                )
            ]
        for res in results:
            print(res.summary())
        return 0
    if args.kind == "gis":
        from ingest.gis import pipeline as gis_pipeline

        result = gis_pipeline.ingest_gis(
            args.layer, args.path, gpkg_layer=args.gpkg_layer, force=args.force
        )
        print(result.summary())
        return 0
    raise CommandError(f"ingest {args.kind}: not available yet")


def _build(args: argparse.Namespace) -> int:
    from ingest import build

    return build.run_dbt_build(
        select=args.select,
        wait_timeout=args.wait_timeout,
        full_refresh=args.full_refresh,
        state=args.state,
    )


def _audit(args: argparse.Namespace) -> int:
    from ingest import build

    scenarios = [s for s in (args.scenarios or "").split(",") if s] or None
    return build.run_audit(
        wait_timeout=args.wait_timeout, batch_size=args.batch_size, scenario_ids=scenarios
    )


def _run(args: argparse.Namespace) -> int:
    from ingest import run

    return run.run_all()


def _api(args: argparse.Namespace) -> int:
    """Serve schema `api` with PostgREST: the `postgrest` binary on PATH (with
    infra/postgrest/postgrest.conf and the active database in PGRST_DB_URI,
    unless PGRST_DB_URI is set), else the compose service running the
    postgrest/postgrest image when a Docker engine answers, else one line on how
    to get either."""
    import shutil
    import subprocess

    import yaml

    from ingest.config import PROJECT_ROOT

    conf = PROJECT_ROOT / "infra" / "postgrest" / "postgrest.conf"
    compose = PROJECT_ROOT / "infra" / "docker" / "docker-compose.yml"
    binary = shutil.which("postgrest")
    if binary:
        env = dict(os.environ)
        env["PGRST_DB_URI"] = env.get("PGRST_DB_URI") or active_database().url()
        env.setdefault("PGRST_OPENAPI_SERVER_PROXY_URI", "http://localhost:3000")
        print(
            f"coeqwal api: PostgREST on http://localhost:3000 (schema api) over "
            f"{redact(env['PGRST_DB_URI'])}; Ctrl-C stops it",
            file=sys.stderr,
        )
        return subprocess.call([binary, str(conf)], env=env)
    docker = shutil.which("docker")
    if docker and subprocess.run([docker, "info"], capture_output=True).returncode == 0:
        services = yaml.safe_load(compose.read_text()).get("services", {})
        service = next(
            (
                name
                for name, spec in services.items()
                if str(spec.get("image", "")).startswith("postgrest/postgrest")
            ),
            "postgrest",
        )
        return subprocess.call([docker, "compose", "-f", str(compose), "up", service])
    raise CommandError(
        "api: PostgREST not found: put the `postgrest` binary on PATH (static build from "
        "https://github.com/PostgREST/postgrest/releases, e.g. v14.1) or start a Docker "
        f"engine (then this runs `docker compose -f {compose} up` with the postgrest/postgrest image)"
    )


def _bench(args: argparse.Namespace) -> int:
    from coeqwal_tools.bench import runner as bench

    steps = None
    if args.scenarios:
        try:
            steps = [int(n) for n in args.scenarios.split(",")]
        except ValueError:
            raise CommandError(
                f"bench: --scenarios takes numbers such as 1,10,25, not {args.scenarios!r}"
            ) from None
        if any(n < 1 for n in steps):
            raise CommandError("bench: --scenarios takes numbers of scenarios, each at least 1")
    return bench.main(
        full_size=not args.small,
        publish=args.publish,
        rounds=args.rounds,
        scenarios=steps,
        budget_minutes=args.budget_minutes,
    )


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="coeqwal", description=__doc__.splitlines()[0])
    sub = p.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="embedded PostgreSQL/PostGIS")
    db.add_argument("action", choices=["up", "down", "status", "url"])
    db.set_defaults(func=_db)

    sample = sub.add_parser("sample", help="write synthetic CalSim3-like DSS7 files")
    sample.add_argument("--full-size", action="store_true", help="one ~21,500-series file")
    sample.add_argument("--out", required=True, help="output folder")
    sample.set_defaults(func=_sample)

    ingest = sub.add_parser("ingest", help="land raw data")
    isub = ingest.add_subparsers(dest="kind", required=True)
    dss = isub.add_parser("dss", help="CalSim DSS files (local paths or s3:// URLs)")
    dss.add_argument("--scenario", help="scenario id (e.g. s0020); never taken from the F part")
    dss.add_argument("--manifest", help="CSV/YAML manifest of scenario ids and files")
    dss.add_argument("paths", nargs="*", help="DSS files or s3://bucket/key")
    dss.add_argument(
        "--force", action="store_true", help="reload even if the same files are already loaded"
    )
    dss.set_defaults(func=_ingest)
    gis = isub.add_parser("gis", help="GIS layer (Shapefile, GeoPackage, GeoJSON)")
    gis.add_argument("--layer", required=True, help="layer name: the table raw_gis.<NAME>")
    gis.add_argument("path", help="a .shp (with .shx/.dbf/.prj), .gpkg or .geojson, or s3://")
    gis.add_argument("--gpkg-layer", help="the layer to read from a GeoPackage holding several")
    gis.add_argument(
        "--force", action="store_true", help="reload even if the same file is already loaded"
    )
    gis.set_defaults(func=_ingest)

    build = sub.add_parser("build", help="dbt seed + build against the active database")
    build.add_argument("--select", help="dbt node selection")
    build.add_argument(
        "--full-refresh",
        action="store_true",
        help="recompute every scenario of the incremental models (once, after an upgrade)",
    )
    build.add_argument(
        "--state",
        metavar="DIR",
        help="folder of another build's manifest.json, for state: selections (slim CI)",
    )
    build.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up if another build still holds the build lock after SECONDS (default: wait)",
    )
    build.set_defaults(func=_build)

    from ingest.build import AUDIT_BATCH_SIZE

    audit = sub.add_parser(
        "audit", help="every data test on every scenario of the published warehouse"
    )
    audit.add_argument(
        "--wait-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="give up if a build still holds the build lock after SECONDS (default: wait)",
    )
    audit.add_argument(
        "--batch-size",
        type=int,
        default=AUDIT_BATCH_SIZE,
        metavar="N",
        help="scenarios per batch of the per-scenario tests "
        f"(default {AUDIT_BATCH_SIZE}; a batch's temporary space grows with N)",
    )
    audit.add_argument(
        "--scenarios",
        metavar="ID[,ID...]",
        help="audit these scenarios only (the tests of the whole warehouse still run)",
    )
    audit.set_defaults(func=_audit)

    run = sub.add_parser("run", help="the whole pipeline on the bundled sample data")
    run.set_defaults(func=_run)

    api = sub.add_parser("api", help="serve the API with PostgREST")
    api.set_defaults(func=_api)

    bench = sub.add_parser("bench", help="performance benchmark, report to stdout")
    bench.add_argument("--small", action="store_true", help="sample data only (quick check)")
    bench.add_argument(
        "--publish",
        action="store_true",
        help="only the cost of publishing a build: `coeqwal build` vs a build in place",
    )
    bench.add_argument(
        "--rounds", type=int, default=2, help="with --publish: builds of each kind and mode"
    )
    bench.add_argument(
        "--scenarios",
        metavar="N1,N2,...",
        help="only the cost of the next build with N scenarios (e.g. 1,10,25): no-change "
        "and add-one builds, slowest nodes, bytes per scenario and API latency at each N",
    )
    bench.add_argument(
        "--budget-minutes",
        type=float,
        default=120,
        help="with --scenarios: stop before a step that would pass this budget (default 120)",
    )
    bench.set_defaults(func=_bench)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    dlt_settings.quiet_logs()
    try:
        return int(args.func(args) or 0)
    except (CommandError, ConfigError, DatabaseError) as exc:
        print(f"coeqwal: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        print("coeqwal: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the contract: one line, non-zero exit
        if os.environ.get("COEQWAL_DEBUG"):
            raise
        print(f"coeqwal: {one_line(exc)}", file=sys.stderr)
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
