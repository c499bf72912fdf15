#!/usr/bin/env python3
"""Capture Prometheus's own XOR chunk bytes as golden fixtures for tests/xor_golden.rs.

Dev tool, not run in CI. Needs only python3 and a `prometheus` binary (Debian's 2.42 was
used): starts it on 127.0.0.1 with an empty TSDB and no scrape jobs, remote-writes the series
defined in SERIES below in one request, remote-reads them back with
accepted_response_types=[STREAMED_XOR_CHUNKS], and writes one fixture file per returned chunk
to tests/golden/xor/<series>-<n>.txt:

    # comment lines
    chunk <hex of the chunk bytes as Prometheus returned them>
    sample <timestamp ms> <value bits as 16 hex digits>     (one per sample in the chunk)

Protobuf and snappy are encoded by hand (snappy with literal-only blocks, which every
decoder accepts), so no pip packages are needed.

Usage: python3 storage-format/tests/golden/capture.py [--prometheus PATH]
"""

import argparse
import os
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OUT_DIR = os.path.join(HERE, "xor")

STALE_NAN = struct.unpack(">d", bytes.fromhex("7ff0000000000002"))[0]
NAN = struct.unpack(">d", bytes.fromhex("7ff8000000000001"))[0]
INF = float("inf")

BASE = 1_700_000_000_000 - (1_700_000_000_000 % 7_200_000)  # start of a 2h block


def regular():
    return [(BASE + 15_000 * i, float(i * 3)) for i in range(25)]


def buckets():
    # Deltas chosen so the delta-of-delta hits 0, each bucket edge and one past it.
    dods = [0, 8192, 8193, -8191, -8192, 65536, 65537, -65535, -65536, 524288, 524289,
            -524287, -524288, 0, 1, -1]
    t, d = BASE, 600_000
    out = [(t, 1.0)]
    t += d
    out.append((t, 1.0))
    for i, dod in enumerate(dods):
        d += dod
        t += d
        out.append((t, 1.0 + (i % 3)))
    return out


def specials():
    vals = [0.0, -0.0, NAN, STALE_NAN, INF, -INF, 1.5, 1.5, 2.0 ** -1074, 1.7976931348623157e308,
            -1.0, STALE_NAN, 42.0, 42.0, 42.0, 0.1, 0.2, 0.30000000000000004]
    return [(BASE + 1_000 * i + (i * i) % 7, v) for i, v in enumerate(vals)]


def gauge():
    # Irregular timestamps and values that exercise window reuse and new windows.
    out, t, v = [], BASE, 100.0
    for i in range(29):
        t += 10_000 + ((i * 7919) % 5_000) - 2_500
        v = v * 1.01 - (i % 5) * 0.37
        out.append((t, v))
    return out


def long_gauge():
    # 250 samples at ~15 s: Prometheus cuts this into several chunks (120-sample target).
    out, v = [], 0.5
    for i in range(250):
        t = BASE + 15_000 * i + (i * 37) % 11 - 5
        v = round(v + ((i * 7919) % 13 - 6) * 0.25, 2)
        out.append((t, v))
    return out


def single():
    return [(BASE + 123, 3.25)]


def pair():
    return [(BASE + 5, 7.0), (BASE + 1_005, 7.0)]


SERIES = {
    "regular": regular,
    "buckets": buckets,
    "specials": specials,
    "gauge": gauge,
    "long": long_gauge,
    "single": single,
    "pair": pair,
}


# --- protobuf, by hand -------------------------------------------------------------------

def uvarint(x):
    x &= (1 << 64) - 1
    out = bytearray()
    while x >= 0x80:
        out.append((x & 0x7F) | 0x80)
        x >>= 7
    out.append(x)
    return bytes(out)


def field_bytes(num, data):
    return uvarint(num << 3 | 2) + uvarint(len(data)) + data


def field_varint(num, x):
    return uvarint(num << 3 | 0) + uvarint(x)


def field_double(num, x):
    return uvarint(num << 3 | 1) + struct.pack("<d", x)


def label(name, value):
    return field_bytes(1, name.encode()) + field_bytes(2, value.encode())


def write_request(series):
    body = b""
    for name, samples in series.items():
        ts = field_bytes(1, label("__name__", "golden")) + field_bytes(1, label("series", name))
        for t, v in samples:
            ts += field_bytes(2, field_double(1, v) + field_varint(2, t))
        body += field_bytes(1, ts)
    return body


def read_request(mint, maxt):
    matcher = field_varint(1, 0) + field_bytes(2, b"__name__") + field_bytes(3, b"golden")
    query = field_varint(1, mint) + field_varint(2, maxt) + field_bytes(3, matcher)
    return field_bytes(1, query) + field_varint(2, 1)  # STREAMED_XOR_CHUNKS


def parse_fields(buf):
    i, out = 0, []
    while i < len(buf):
        key, i = read_uvarint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            val, i = read_uvarint(buf, i)
        elif wt == 2:
            n, i = read_uvarint(buf, i)
            val, i = buf[i:i + n], i + n
        elif wt == 1:
            val, i = buf[i:i + 8], i + 8
        elif wt == 5:
            val, i = buf[i:i + 4], i + 4
        else:
            raise ValueError(f"wire type {wt}")
        out.append((num, val))
    return out


def read_uvarint(buf, i):
    x, s = 0, 0
    while True:
        b = buf[i]
        i += 1
        x |= (b & 0x7F) << s
        s += 7
        if b < 0x80:
            return x, i


def signed(x):
    return x - (1 << 64) if x >= 1 << 63 else x


# --- snappy (block format, literals only) and crc32c ----------------------------------

def snappy_literal(data):
    out = bytearray(uvarint(len(data)))
    for i in range(0, len(data), 65536):
        part = data[i:i + 65536]
        out.append(61 << 2)
        out += struct.pack("<H", len(part) - 1)
        out += part
    return bytes(out)


def crc32c(data):
    crc = 0xFFFFFFFF
    for b in data:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


# --- prometheus process ------------------------------------------------------------------

def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url, body, headers):
    req = urllib.request.Request(url, data=body, headers=headers, method="POST")
    with urllib.request.urlopen(req, timeout=10) as resp:
        return resp.status, resp.headers.get("Content-Type", ""), resp.read()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--prometheus", default=shutil.which("prometheus") or "prometheus")
    args = ap.parse_args()

    version = subprocess.run([args.prometheus, "--version"], capture_output=True, text=True)
    version_line = (version.stdout or version.stderr).splitlines()[0]

    tmp = tempfile.mkdtemp(prefix="cairn-golden-")
    cfg = os.path.join(tmp, "prometheus.yml")
    with open(cfg, "w") as f:
        f.write("global: {}\n")
    port = free_port()
    proc = subprocess.Popen(
        [args.prometheus, f"--config.file={cfg}", f"--storage.tsdb.path={tmp}/data",
         f"--web.listen-address=127.0.0.1:{port}", "--web.enable-remote-write-receiver"],
        stdout=subprocess.DEVNULL, stderr=open(os.path.join(tmp, "log"), "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):  # bounded: 100 * 0.1 s
            try:
                with urllib.request.urlopen(base + "/-/ready", timeout=1) as r:
                    if r.status == 200:
                        break
            except (urllib.error.URLError, ConnectionError):
                pass
            time.sleep(0.1)
        else:
            sys.exit("prometheus did not become ready; log in " + tmp)

        series = {name: fn() for name, fn in SERIES.items()}
        status, _, _ = post(base + "/api/v1/write", snappy_literal(write_request(series)), {
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Write-Version": "0.1.0",
        })
        assert status == 204, status

        mint = min(t for s in series.values() for t, _ in s) - 1
        maxt = max(t for s in series.values() for t, _ in s) + 1
        status, ctype, body = post(base + "/api/v1/read", snappy_literal(read_request(mint, maxt)), {
            "Content-Encoding": "snappy",
            "Content-Type": "application/x-protobuf",
            "X-Prometheus-Remote-Read-Version": "0.1.0",
        })
        assert status == 200 and "x-streamed-protobuf" in ctype, (status, ctype)
        chunks = parse_stream(body)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(tmp, ignore_errors=True)

    os.makedirs(OUT_DIR, exist_ok=True)
    for old in os.listdir(OUT_DIR):
        if old.endswith(".txt"):
            os.remove(os.path.join(OUT_DIR, old))
    written = 0
    for name, chunk_list in chunks.items():
        samples = series[name]
        for n, (cmin, cmax, data) in enumerate(chunk_list):
            inside = [(t, v) for t, v in samples if cmin <= t <= cmax]
            path = os.path.join(OUT_DIR, f"{name}-{n}.txt")
            with open(path, "w") as f:
                f.write(f"# Captured from {version_line} by tests/golden/capture.py via remote read.\n")
                f.write(f"# series={name} chunk={n} min_time_ms={cmin} max_time_ms={cmax}\n")
                f.write(f"chunk {data.hex()}\n")
                for t, v in inside:
                    f.write(f"sample {t} {struct.pack('>d', v).hex()}\n")
            written += 1
            print(f"{path}: {len(inside)} samples, {len(data)} bytes")
    print(f"{written} fixtures")


def parse_stream(body):
    """Frames: uvarint length, 4-byte big-endian CRC32C of the message, ChunkedReadResponse."""
    i, chunks = 0, {}
    while i < len(body):
        n, i = read_uvarint(body, i)
        crc = struct.unpack(">I", body[i:i + 4])[0]
        msg = body[i + 4:i + 4 + n]
        i += 4 + n
        assert crc32c(msg) == crc, "frame crc mismatch"
        for num, val in parse_fields(msg):
            if num != 1:
                continue
            name, chunk_list = None, []
            for snum, sval in parse_fields(val):
                if snum == 1:
                    lf = dict(parse_fields(sval))
                    if lf.get(1) == b"series":
                        name = lf[2].decode()
                elif snum == 2:
                    cf = parse_fields(sval)
                    d = dict(cf)
                    assert d.get(3, 0) == 1, "not an XOR chunk"
                    chunk_list.append((signed(d.get(1, 0)), signed(d.get(2, 0)), bytes(d.get(4, b""))))
            chunks.setdefault(name, []).extend(chunk_list)
    return chunks


if __name__ == "__main__":
    main()
