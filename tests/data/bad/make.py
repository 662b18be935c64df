"""Writes the bad-input corpus of the fault suite (issue #10): Parquet files that are empty,
damaged, lying or merely unusual, each next to good files in tests/it/faults.rs, through
`drift check` (exit 0, 1 or 2 with one line, never a panic or an abort) and through the daemon
(the good files are evaluated; the bad one is consumed or quarantined). Cases that cannot be
committed as files (unreadable file, non-UTF-8 name, symlink loop, a directory named
x.parquet, a file deleted between listing and reading) are made by the test at run time.

Run (not needed for the tests; the files are committed):
    pip install pyarrow && python3 tests/data/bad/make.py
The output is deterministic for a given pyarrow version (26.0.1 wrote the committed files).
"""
import datetime as dt
import decimal
import math
import os
import struct

import pyarrow as pa
import pyarrow.parquet as pq

HERE = os.path.dirname(os.path.abspath(__file__))
N = 500


def path(name):
    return os.path.join(HERE, name)


def write(name, table, **kw):
    kw.setdefault("compression", "snappy")
    pq.write_table(table, path(name), **kw)


def floats(n=N, shift=0.0):
    # A fixed, irregular sequence (no RNG, so the files never depend on a library's generator).
    return [math.sin(i * 0.7) * 3 + (i % 7) * 0.1 + shift for i in range(n)]


def good_table():
    return pa.table({"x": pa.array(floats(), pa.float64()), "k": pa.array([["a", "b", "c"][i % 3] for i in range(N)])})


def flip(name, start, end):
    with open(path(name), "r+b") as f:
        data = bytearray(f.read())
        for i in range(start, min(end, len(data))):
            data[i] ^= 0xFF
        f.seek(0)
        f.write(data)


def footer_bounds(data):
    n = struct.unpack("<I", data[-8:-4])[0]
    return len(data) - 8 - n, len(data) - 8


def zigzag_varint(v):
    z = (v << 1) ^ (v >> 63)
    out = bytearray()
    while True:
        b = z & 0x7F
        z >>= 7
        if z:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def lie_about_rows(name, rows, claim, how_many):
    """Rewrites the first `how_many` i64 fields equal to `rows` in the footer (FileMetaData's
    num_rows comes first, then the column chunk's num_values and the row group's num_rows) to
    `claim`, fixing the footer's length."""
    with open(path(name), "rb") as f:
        data = f.read()
    start, end = footer_bounds(data)
    footer = data[start:end]
    old = b"\x16" + zigzag_varint(rows)
    new = b"\x16" + zigzag_varint(claim)
    assert footer.count(old) >= how_many, (name, footer.count(old))
    footer = footer.replace(old, new, how_many)
    out = data[:start] + footer + struct.pack("<I", len(footer)) + b"PAR1"
    with open(path(name), "wb") as f:
        f.write(out)


def main():
    write("good.parquet", good_table())

    # Not Parquet at all, or cut short.
    open(path("zero_bytes.parquet"), "wb").close()
    with open(path("magic_only.parquet"), "wb") as f:
        f.write(b"PAR1")
    with open(path("magic_twice.parquet"), "wb") as f:
        f.write(b"PAR1\x00\x00\x00\x00PAR1")
    with open(path("text.parquet"), "wb") as f:
        f.write(b"id,x\n1,2.5\n" * 10)
    data = open(path("good.parquet"), "rb").read()
    with open(path("truncated.parquet"), "wb") as f:
        f.write(data[: len(data) // 2])

    # Damaged behind a valid magic: a page (valid footer), the footer, the footer's length.
    write("damaged_page.parquet", good_table())
    flip("damaged_page.parquet", 4, 40)
    write("damaged_footer.parquet", good_table())
    start, end = footer_bounds(open(path("damaged_footer.parquet"), "rb").read())
    flip("damaged_footer.parquet", start + 10, start + 40)
    write("footer_length_beyond_file.parquet", good_table())
    with open(path("footer_length_beyond_file.parquet"), "r+b") as f:
        f.seek(-8, os.SEEK_END)
        f.write(struct.pack("<I", 0x7FFFFFF0))

    # Lying row counts: the file's (caught against its row groups), and the file's and its one
    # row group's together (caught against the pages; a reservation from it used to abort).
    t = pa.table({"x": pa.array([float(i % 10) for i in range(12345)], pa.float64())})
    write("lying_num_rows.parquet", t, row_group_size=1 << 20)
    lie_about_rows("lying_num_rows.parquet", 12345, 1 << 40, 1)
    write("lying_row_group_rows.parquet", t, row_group_size=1 << 20)
    lie_about_rows("lying_row_group_rows.parquet", 12345, 1 << 40, 3)

    # Out-of-range dictionary indices: a dictionary of 3 strings, the data page's indices
    # (uncompressed, at the end of the column chunk) overwritten with all-ones bits.
    t = pa.table({"k": pa.array([["a", "b", "c"][i % 3] for i in range(N)])})
    write("dictionary_index_out_of_range.parquet", t, compression="none")
    col = pq.ParquetFile(path("dictionary_index_out_of_range.parquet")).metadata.row_group(0).column(0)
    chunk_end = col.data_page_offset + col.total_compressed_size
    if col.dictionary_page_offset is not None:
        chunk_end = col.dictionary_page_offset + col.total_compressed_size
    with open(path("dictionary_index_out_of_range.parquet"), "r+b") as f:
        f.seek(chunk_end - 40)
        f.write(b"\xff" * 40)

    # BYTE_STREAM_SPLIT floats whose page is cut short by a damaged header.
    t = pa.table({"x": pa.array(floats(), pa.float64())})
    write("byte_stream_split.parquet", t, use_dictionary=False, column_encoding={"x": "BYTE_STREAM_SPLIT"})
    write("byte_stream_split_damaged.parquet", t, compression="none", use_dictionary=False,
          column_encoding={"x": "BYTE_STREAM_SPLIT"})
    flip("byte_stream_split_damaged.parquet", 6, 12)

    # Empty and degenerate data.
    write("zero_rows.parquet", good_table().slice(0, 0))
    write("one_row.parquet", good_table().slice(0, 1))
    write("no_columns.parquet", pa.table({}))
    nan = [float("nan"), float("inf"), float("-inf")] * (N // 3)
    write("nan_inf_everywhere.parquet", pa.table({"x": pa.array(nan, pa.float64()),
                                                   "f32": pa.array(nan, pa.float32())}))
    write("all_null_float_column_x.parquet", pa.table({"x": pa.array([None] * N, pa.float64()),
                                                        "k": pa.array([None] * N, pa.string())}))
    types = {
        "null": pa.null(), "bool": pa.bool_(), "int8": pa.int8(), "int16": pa.int16(), "int32": pa.int32(),
        "int64": pa.int64(), "uint8": pa.uint8(), "uint16": pa.uint16(), "uint32": pa.uint32(),
        "uint64": pa.uint64(), "float16": pa.float16(), "float32": pa.float32(), "float64": pa.float64(),
        "string": pa.string(), "large_string": pa.large_string(), "binary": pa.binary(),
        "fixed_binary": pa.binary(16), "date32": pa.date32(), "timestamp_us": pa.timestamp("us"),
        "decimal128": pa.decimal128(10, 2), "decimal256": pa.decimal256(40, 5), "list": pa.list_(pa.int32()),
    }
    for name, ty in types.items():
        write(f"all_null_{name}.parquet", pa.table({f"n_{name}": pa.array([None] * N, ty),
                                                    "x": pa.array(floats(), pa.float64())}))

    # Unusual but valid types.
    write("nested.parquet", pa.table({
        "x": pa.array(floats(), pa.float64()),
        "list": pa.array([list(range(i % 4)) for i in range(N)], pa.list_(pa.int32())),
        "struct": pa.array([{"a": i, "b": str(i % 5)} for i in range(N)]),
        "map": pa.array([[("k", i)] for i in range(N)], pa.map_(pa.string(), pa.int64())),
        "deep": pa.array([[{"a": [i]}] for i in range(N)]),
    }))
    write("decimal256.parquet", pa.table({
        "d": pa.array([decimal.Decimal(i * 1234567) .scaleb(-3) for i in range(N)], pa.decimal256(60, 10)),
        "x": pa.array(floats(), pa.float64()),
    }))
    base = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    times = [base + dt.timedelta(minutes=i) for i in range(N)]
    write("timestamps_every_unit_and_zone.parquet", pa.table({
        "x": pa.array(floats(), pa.float64()),
        "ts_s_utc": pa.array(times, pa.timestamp("s", tz="UTC")),
        "ts_ms_ny": pa.array(times, pa.timestamp("ms", tz="America/New_York")),
        "ts_us_naive": pa.array([t.replace(tzinfo=None) for t in times], pa.timestamp("us")),
        "ts_ns_kolkata": pa.array(times, pa.timestamp("ns", tz="Asia/Kolkata")),
        "date": pa.array([t.date() for t in times], pa.date32()),
    }), coerce_timestamps=None, allow_truncated_timestamps=True)
    write("timestamp_in_2200.parquet", pa.table({
        "x": pa.array(floats(), pa.float64()),
        "ts": pa.array([dt.datetime(2200, 1, 1) + dt.timedelta(hours=i) for i in range(N)], pa.timestamp("us")),
    }))
    write("dictionary_floats.parquet", pa.table({
        "x": pa.DictionaryArray.from_arrays(pa.array([i % 5 for i in range(N)], pa.int32()),
                                            pa.array([0.5, 1.5, 2.5, 3.5, -1.0])),
    }))
    write("dictionary_floats_with_nan.parquet", pa.table({
        "x": pa.DictionaryArray.from_arrays(pa.array([i % 5 for i in range(N)], pa.int32()),
                                            pa.array([0.5, 1.5, 2.5, float("nan"), -1.0])),
    }))
    write("extreme_integers.parquet", pa.table({
        "i64": pa.array([(-(1 << 63)) if i % 2 else (1 << 63) - 1 for i in range(N)], pa.int64()),
        "u64": pa.array([(1 << 64) - 1 - i for i in range(N)], pa.uint64()),
        "x": pa.array(floats(), pa.float64()),
    }))
    write("huge_string_values.parquet", pa.table({
        "k": pa.array([("v%d" % (i % 3)) * 100_000 for i in range(20)]),
    }))
    write("invalid_utf8_binary.parquet", pa.table({"k": pa.array([b"\xff\xfe" + bytes([i % 256]) for i in range(N)],
                                                                  pa.binary())}))
    write("many_tiny_row_groups.parquet", good_table(), row_group_size=3)
    write("wide_1000_columns.parquet", pa.table({f"c{i}": pa.array([float(i)] * 10) for i in range(1000)}))
    write("data_page_v2.parquet", good_table(), data_page_version="2.0", compression="zstd")


if __name__ == "__main__":
    main()
