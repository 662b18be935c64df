#!/usr/bin/env python3
"""Ranged reads from object storage (#11): bytes fetched and wall time of `drift check` over a
25-column, ~100 MB Parquet object in S3 (moto's server on loopback) when 5 columns are
monitored, against downloading the whole object and checking it locally, and against checking
all 25 columns. Bytes are counted by a loopback proxy between drift and the server (response
bytes, HTTP headers included). The reference is a local file of the same schema.

    python3 benches/objects_ranged.py target/release/drift
    DRIFT_BENCH_OBJECT_ROWS=100000 python3 benches/objects_ranged.py ...   # a smaller object

Needs pyarrow, numpy, boto3 and moto_server (DRIFT_MOTO_SERVER or on the PATH). Everything
goes to a temporary directory, deleted at the end.
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import boto3
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Proxy:
    """Forwards loopback connections to the server and counts the bytes it answers."""

    def __init__(self, upstream: int):
        self.upstream, self.received, self.lock = upstream, 0, threading.Lock()
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        threading.Thread(target=self.accept, daemon=True).start()

    def accept(self):
        while True:
            client, _ = self.sock.accept()
            server = socket.create_connection(("127.0.0.1", self.upstream))
            threading.Thread(target=self.pipe, args=(client, server, False), daemon=True).start()
            threading.Thread(target=self.pipe, args=(server, client, True), daemon=True).start()

    def pipe(self, src, dst, count):
        try:
            while data := src.recv(1 << 16):
                dst.sendall(data)
                if count:
                    with self.lock:
                        self.received += len(data)
        except OSError:
            pass
        finally:
            try:
                dst.shutdown(socket.SHUT_WR)
            except OSError:
                pass

    def take(self) -> int:
        with self.lock:
            n, self.received = self.received, 0
        return n


def table(rows: int, seed: int) -> pa.Table:
    rng = np.random.default_rng(seed)
    return pa.table({f"c{i:02}": rng.normal(size=rows) for i in range(25)})


def main():
    drift = os.path.abspath(sys.argv[1])
    rows = int(os.environ.get("DRIFT_BENCH_OBJECT_ROWS", "500000"))
    moto = os.environ.get("DRIFT_MOTO_SERVER") or shutil.which("moto_server")
    tmp = tempfile.mkdtemp(prefix="drift-objects-bench-")
    port = free_port()
    server = subprocess.Popen([moto, "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=1)
                break
            except Exception:
                time.sleep(0.2)
        ref, cur = os.path.join(tmp, "ref.parquet"), os.path.join(tmp, "cur.parquet")
        pq.write_table(table(rows // 5, 1), ref, row_group_size=100_000)
        pq.write_table(table(rows, 2), cur, row_group_size=100_000)
        size = os.path.getsize(cur)
        s3 = boto3.client("s3", endpoint_url=f"http://127.0.0.1:{port}", region_name="us-east-1",
                          aws_access_key_id="test", aws_secret_access_key="test")
        s3.create_bucket(Bucket="bench")
        s3.upload_file(cur, "bench", "cur/part-0.parquet")
        proxy = Proxy(port)
        env = {**os.environ, "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
               "AWS_REGION": "us-east-1", "AWS_ENDPOINT": f"http://127.0.0.1:{proxy.port}",
               "AWS_ALLOW_HTTP": "true"}
        five = ["--columns", "c00,c01,c02,c03,c04"]

        def check(current, extra):
            t = time.perf_counter()
            subprocess.run([drift, "check", "--format", "json", "-r", ref, "-c", current, *extra], env=env,
                           stdout=subprocess.DEVNULL, check=False)
            return time.perf_counter() - t

        print(f"object: {size / 1e6:.1f} MB, 25 columns, {rows} rows, row groups of 100 000")
        for name, run in [
            ("ranged, 5 columns", lambda: check("s3://bench/cur/part-0.parquet", five)),
            ("ranged, 25 columns", lambda: check("s3://bench/cur/part-0.parquet", [])),
        ]:
            proxy.take()
            secs = run()
            print(f"{name:32} {proxy.take() / 1e6:8.1f} MB fetched {secs:7.2f} s")
        proxy.take()
        t = time.perf_counter()
        local = os.path.join(tmp, "downloaded.parquet")
        with urllib.request.urlopen(f"http://127.0.0.1:{proxy.port}/bench/cur/part-0.parquet") as r, \
                open(local, "wb") as f:
            shutil.copyfileobj(r, f)
        check(local, five)
        print(f"{'full download, then 5 columns':32} {proxy.take() / 1e6:8.1f} MB fetched "
              f"{time.perf_counter() - t:7.2f} s")
    finally:
        server.kill()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
