"""Logs read from S3 through fsspec URLs, against a real S3 API: moto's server on 127.0.0.1.

The objects are uploaded with boto3 (a real client over HTTP) and read back by read_logs /
bill_from_logs / the CLI through s3fs, as a CloudWatch export to S3 lays them out.
"""

from __future__ import annotations

import gzip
import json
import socket
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from support.cli import run
from support.paths import LOG_FIXTURES

from costmodel import InvalidUsage, bill_from_logs, read_logs

boto3 = pytest.importorskip("boto3")
moto_server = pytest.importorskip("moto.server")

EXPORT = LOG_FIXTURES / "aws_export.log"
KEY, SECRET = "AKIATESTKEY0000000000", "test-secret-never-shown"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto's S3 server, on a free port of 127.0.0.1, for this module."""
    port = _free_port()
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.stop()


@pytest.fixture
def bucket(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh bucket holding a CloudWatch export: two streams' 000000.gz and the
    aws-logs-write-test object CloudWatch writes first."""
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )  # fmt: skip
    name = f"logs-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=name)
    body = gzip.compress(EXPORT.read_bytes())
    for stream in ("2024-05-01-[$LATEST]e34ea4d3", "2024-05-02-[$LATEST]0a1b2c3d"):
        client.put_object(Bucket=name, Key=f"exportedlogs/task-1/{stream}/000000.gz", Body=body)
    client.put_object(
        Bucket=name, Key="exportedlogs/aws-logs-write-test", Body=b"Permission Check Successful"
    )
    return name


def _options(endpoint: str) -> dict[str, Any]:
    return {"endpoint_url": endpoint, "key": KEY, "secret": SECRET}


def test_read_logs_from_an_s3_glob_equals_the_local_files(endpoint: str, bucket: str) -> None:
    """s3://bucket/exportedlogs/*/*/000000.gz reads both objects, as the local file reads."""
    url = f"s3://{bucket}/exportedlogs/*/*/000000.gz"
    frame = read_logs(url, storage_options=_options(endpoint), function="api")
    local = read_logs(EXPORT, function="api")
    pd.testing.assert_frame_equal(frame, pd.concat([local, local], ignore_index=True))
    assert frame.attrs["malformed_count"] == 0


def test_a_prefix_is_a_folder_and_bills_once(endpoint: str, bucket: str) -> None:
    """A prefix means every object under it; the bill equals the local one doubled."""
    result = bill_from_logs(
        f"s3://{bucket}/exportedlogs/", provider="aws-lambda", function="api",
        storage_options=_options(endpoint),
    )  # fmt: skip
    local = bill_from_logs([EXPORT, EXPORT], provider="aws-lambda", function="api")
    assert result.invocations == local.invocations
    assert result.total == pytest.approx(local.total)
    assert result.malformed_count == 0


def test_errors_name_the_object_and_never_the_credentials(endpoint: str, bucket: str) -> None:
    """A missing object or an empty glob is named by its URL, without the secret."""
    with pytest.raises(FileNotFoundError) as missing:
        read_logs(f"s3://{bucket}/nothing.gz", storage_options=_options(endpoint))
    with pytest.raises(InvalidUsage) as empty:
        read_logs(f"s3://{bucket}/exportedlogs/*/*.csv", storage_options=_options(endpoint))
    for error in (missing.value, empty.value):
        assert bucket in str(error) and SECRET not in str(error) and KEY not in str(error)
    assert "no object matches" in str(empty.value)


def test_a_malformed_line_is_named_by_its_object(endpoint: str, bucket: str) -> None:
    """Malformed lines from several objects start with each object's URL."""
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )  # fmt: skip
    client.put_object(Bucket=bucket, Key="bad/a.log", Body=b"REPORT RequestId: 1\tDuration: x ms\n")
    client.put_object(Bucket=bucket, Key="bad/b.log", Body=b"REPORT RequestId: 2\tDuration: y ms\n")
    frame = read_logs(f"s3://{bucket}/bad/*.log", storage_options=_options(endpoint))
    assert [m.reason.split(": ")[0] for m in frame.attrs["malformed"]] == [
        f"s3://{bucket}/bad/a.log",
        f"s3://{bucket}/bad/b.log",
    ]


def test_cli_bills_an_s3_glob(endpoint: str, bucket: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """costmodel bill s3://... with --storage-option endpoint_url and the usual env keys."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET)
    status, out, err = run(
        "bill", f"s3://{bucket}/exportedlogs/*/*/000000.gz", "--provider", "aws-lambda",
        "--storage-option", f"endpoint_url={endpoint}", "--format", "json",
    )  # fmt: skip
    assert status == 0, err
    groups = json.loads(out)["groups"]
    assert sum(group["invocations"] for group in groups) == 2 * len(read_logs(EXPORT))


def test_without_s3fs_the_error_names_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    """With s3fs missing, an s3:// URL fails before any read, naming the 's3' extra."""
    import fsspec  # noqa: F401  (loads fsspec.registry)

    monkeypatch.setitem(sys.modules, "s3fs", None)  # `import s3fs` now fails
    loaded = sys.modules["fsspec.registry"]._registry  # the classes fsspec already imported
    for protocol in ("s3", "s3a"):
        monkeypatch.delitem(loaded, protocol, raising=False)
    with pytest.raises(InvalidUsage, match=r"needs the optional 's3' extra .*callwise\[s3\]"):
        read_logs("s3://bucket/prefix/*.gz")
    status, _, err = run("bill", "s3://bucket/x.gz", "--provider", "aws-lambda")
    assert status == 2 and "callwise[s3]" in err


def test_s3_objects_on_the_cluster_equal_the_serial_read(
    endpoint: str, bucket: str, dask_client: Any
) -> None:
    """On the LocalCluster the workers read the objects themselves: the gzip objects one
    task each, an uncompressed object in byte ranges; frame and bill equal the serial ones."""
    client = boto3.client(
        "s3", endpoint_url=endpoint, aws_access_key_id=KEY, aws_secret_access_key=SECRET,
        region_name="us-east-1",
    )  # fmt: skip
    body = (LOG_FIXTURES / "aws_snapstart.log").read_bytes() + EXPORT.read_bytes() * 3
    client.put_object(Bucket=bucket, Key="exportedlogs/task-1/plain/000001.log", Body=body)
    url, options = f"s3://{bucket}/exportedlogs/task-1/", _options(endpoint)
    serial = read_logs(url, storage_options=options, client=False)
    split = read_logs(url, storage_options=options, client=dask_client, split_bytes=700)
    pd.testing.assert_frame_equal(split, serial)
    assert split.attrs["malformed"] == serial.attrs["malformed"]
    bills = [
        bill_from_logs(url, provider="aws-lambda", storage_options=options, client=where)
        for where in (False, dask_client)
    ]
    assert bills[0].total == bills[1].total and bills[0].invocations == len(serial)
