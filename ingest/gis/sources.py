"""Where a GIS layer comes from: a local path or an `s3://bucket/key` object.

GDAL needs real files, so S3 objects are downloaded to a private temporary folder
with the DSS loader's helpers (boto3, the standard AWS credential chain,
`AWS_ENDPOINT_URL_S3` for an S3-compatible store). A Shapefile is several files:
its `.shx`, `.dbf`, `.prj` and `.cpg` siblings are fetched with it, and the
`.shx`/`.dbf` must exist (the `.prj` may be missing: the reader then refuses the
layer for lack of a CRS, with that reason).

The SHA-256 recorded for a layer covers every file of it: for a Shapefile the
digest of its components' digests, in the order `.shp .shx .dbf .prj .cpg`.
"""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ingest.dss.pipeline import sha256_of
from ingest.dss.sources import SourceError, download_s3, split_s3

SHAPEFILE_PARTS = (".shp", ".shx", ".dbf", ".prj", ".cpg")
REQUIRED_PARTS = (".shp", ".shx", ".dbf")

__all__ = ["SourceError", "layer_digest", "local_layer"]


def _s3_exists(url: str) -> bool:
    import boto3
    import botocore.exceptions

    bucket, key = split_s3(url)
    try:
        boto3.client("s3").head_object(Bucket=bucket, Key=key)
    except botocore.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("404", "NoSuchKey", "NotFound"):
            return False
        raise SourceError(f"{url}: S3 said {exc.response.get('Error', {}).get('Code')}") from exc
    return True


def _sibling(source: str, suffix: str) -> str:
    stem, _, _ = source.rpartition(".")
    # keep the case convention of the main file (DemandUnits.SHP -> DemandUnits.DBF)
    return stem + (suffix.upper() if source.rsplit(".", 1)[-1].isupper() else suffix)


@contextlib.contextmanager
def local_layer(source: str) -> Iterator[Path]:
    """A local path to the layer's main file, with its siblings next to it for a Shapefile."""
    tmp = Path(tempfile.mkdtemp(prefix="coeqwal-gis-"))
    try:
        if source.startswith("s3://"):
            main = download_s3(source, tmp)
            if main.suffix.lower() == ".shp":
                for suffix in SHAPEFILE_PARTS[1:]:
                    url = _sibling(source, suffix)
                    if _s3_exists(url):
                        download_s3(url, tmp)
                    elif suffix in REQUIRED_PARTS:
                        raise SourceError(f"{source}: Shapefile without its {suffix} file ({url})")
            yield main
            return
        path = Path(source)
        if not path.exists():
            raise SourceError(f"{source}: no such file")
        if not path.is_file():
            raise SourceError(f"{source}: not a regular file")
        yield path
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def layer_files(main: Path) -> list[Path]:
    """Every file the layer consists of (the Shapefile's present components, else the file)."""
    if main.suffix.lower() != ".shp":
        return [main]
    out = []
    for suffix in SHAPEFILE_PARTS:
        for candidate in (main.with_suffix(suffix), main.with_suffix(suffix.upper())):
            if candidate.exists():
                out.append(candidate)
                break
    return out


def layer_digest(main: Path) -> str:
    """SHA-256 of the file, or of a Shapefile's component digests in a fixed order."""
    files = layer_files(main)
    if len(files) == 1:
        return sha256_of(files[0])
    combined = hashlib.sha256()
    for path in files:
        combined.update(f"{path.suffix.lower()}:{sha256_of(path)}\n".encode())
    return combined.hexdigest()
