"""Where DSS files come from: local paths or `s3://bucket/key` objects.

The HEC-DSS C library needs a real file, so S3 objects are downloaded to a
private temporary folder (boto3 with the standard AWS credential chain; an
S3-compatible store is reached through `AWS_ENDPOINT_URL_S3` or
`AWS_ENDPOINT_URL`, which boto3 honours).
"""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path


class SourceError(Exception):
    """A file that cannot be fetched; the message is one line."""


def split_s3(url: str) -> tuple[str, str]:
    rest = url[len("s3://") :]
    bucket, _, key = rest.partition("/")
    if not bucket or not key:
        raise SourceError(f"{url}: expected s3://bucket/key")
    return bucket, key


def download_s3(url: str, dest_dir: Path) -> Path:
    import boto3
    import botocore.exceptions

    bucket, key = split_s3(url)
    dest = dest_dir / Path(key).name
    try:
        boto3.client("s3").download_file(bucket, key, str(dest))
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SourceError(f"{url}: S3 said {code}") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise SourceError(f"{url}: {exc}") from exc
    return dest


def check_s3_object(url: str) -> None:
    """The object exists, is not empty and starts with the HEC-DSS signature (a
    ranged read of its first bytes: nothing is downloaded)."""
    import boto3
    import botocore.exceptions

    bucket, key = split_s3(url)
    client = boto3.client("s3")
    try:
        head = client.head_object(Bucket=bucket, Key=key)
        if not head.get("ContentLength"):
            raise SourceError(f"{url} is empty (0 bytes), not a DSS file")
        first = client.get_object(Bucket=bucket, Key=key, Range="bytes=0-19")["Body"].read()
    except botocore.exceptions.ClientError as exc:
        code = exc.response.get("Error", {}).get("Code", "error")
        raise SourceError(f"{url}: S3 said {code}") from exc
    except botocore.exceptions.BotoCoreError as exc:
        raise SourceError(f"{url}: {exc}") from exc
    if first[:4] != b"ZDSS":
        raise SourceError(f"{url} is not a HEC-DSS file (it does not start with 'ZDSS')")


@contextlib.contextmanager
def local_copies(paths: Sequence[str]) -> Iterator[list[tuple[str, Path]]]:
    """Yield (source, local path) pairs; S3 objects live in a temp folder meanwhile."""
    tmp = Path(tempfile.mkdtemp(prefix="coeqwal-s3-"))
    try:
        out = []
        for src in paths:
            if src.startswith("s3://"):
                out.append((src, download_s3(src, tmp)))
                continue
            path = Path(src)
            if not path.exists():
                raise SourceError(f"{src}: no such file")
            if not path.is_file():
                raise SourceError(f"{src}: not a regular file")
            out.append((src, path))
        yield out
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
