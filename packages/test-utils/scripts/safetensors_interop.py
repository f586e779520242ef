#!/usr/bin/python3
"""A safetensors reader and writer in plain numpy, the independent reference for tsgrad's checkpoints.

    /usr/bin/python3 safetensors_interop.py write OUT.safetensors EXPECTED.json
        writes a file (F32, F64, I32, I64, BOOL tensors and metadata) and the values it holds as JSON;
        the committed fixtures/from-python.safetensors and from-python.json come from this.
    /usr/bin/python3 safetensors_interop.py check FILE.safetensors EXPECTED.json
        parses FILE (written by tsgrad) and compares every tensor and metadata entry with EXPECTED;
        exit status 0 when everything matches exactly, 1 with a message otherwise.

Needs numpy only (Debian's python3-numpy), not torch.
"""
import json
import struct
import sys

import numpy as np

DTYPES = {"F32": "<f4", "F64": "<f8", "I32": "<i4", "I64": "<i8", "BOOL": "?"}


def read(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n].decode("utf-8"))
    base = 8 + n
    meta = header.pop("__metadata__", {})
    tensors = {}
    for name, spec in header.items():
        begin, end = spec["data_offsets"]
        arr = np.frombuffer(data[base + begin : base + end], dtype=DTYPES[spec["dtype"]]).reshape(spec["shape"])
        tensors[name] = (spec["dtype"], arr)
    return tensors, meta


def write(path, tensors, meta):
    header, blobs, offset = {}, [], 0
    for name, (dtype, arr) in tensors.items():
        raw = np.ascontiguousarray(arr, dtype=DTYPES[dtype]).tobytes()
        header[name] = {"dtype": dtype, "shape": list(arr.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = meta
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def main():
    mode, path, expected_path = sys.argv[1:4]
    if mode == "write":
        rng = np.random.default_rng(7)
        tensors = {
            "layer.weight": ("F32", rng.standard_normal((3, 4)).astype(np.float32)),
            "layer.bias": ("F64", rng.standard_normal(3)),
            "bn.num_batches_tracked": ("I64", np.array(42, dtype=np.int64)),
            "ids": ("I32", np.arange(-3, 3, dtype=np.int32).reshape(2, 3)),
            "mask": ("BOOL", np.array([True, False, True])),
            "empty": ("F32", np.zeros((0, 5), dtype=np.float32)),
        }
        meta = {"format": "pt", "writer": "numpy"}
        write(path, tensors, meta)
        expected = {k: {"dtype": d, "shape": list(a.shape), "data": a.reshape(-1).tolist()} for k, (d, a) in tensors.items()}
        with open(expected_path, "w") as f:
            json.dump({"tensors": expected, "metadata": meta}, f, indent=1)
            f.write("\n")
        return 0
    tensors, meta = read(path)
    with open(expected_path) as f:
        expected = json.load(f)
    problems = []
    if set(tensors) != set(expected["tensors"]):
        problems.append(f"tensor names differ: {sorted(tensors)} vs {sorted(expected['tensors'])}")
    for name, want in expected["tensors"].items():
        if name not in tensors:
            continue
        dtype, arr = tensors[name]
        if dtype != want["dtype"] or list(arr.shape) != want["shape"]:
            problems.append(f"{name}: {dtype} {list(arr.shape)} vs {want['dtype']} {want['shape']}")
        elif arr.reshape(-1).tolist() != want["data"]:
            problems.append(f"{name}: values differ")
    for k, v in expected.get("metadata", {}).items():
        if meta.get(k) != v:
            problems.append(f"metadata {k}: {meta.get(k)!r} vs {v!r}")
    if problems:
        print("\n".join(problems))
        return 1
    print(f"ok: {len(tensors)} tensors, {len(meta)} metadata entries")
    return 0


if __name__ == "__main__":
    sys.exit(main())
