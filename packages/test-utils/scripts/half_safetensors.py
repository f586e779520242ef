"""safetensors files read and written by hand with torch (the `safetensors` package is not installed):
an 8-byte little-endian header length, the JSON header, then the raw little-endian bytes. Used by
gen_half_fixtures.py for the F16 / BF16 interop fixtures; half tensors keep their bits both ways."""
import json
import struct

import torch

STORE = {"F16": torch.float16, "BF16": torch.bfloat16, "F32": torch.float32}


def write_safetensors(path, tensors):
    header, blobs, offset = {}, [], 0
    for name, (dtype, t) in tensors.items():
        raw = t.contiguous().view(torch.int16 if dtype != "F32" else torch.int32).numpy().astype("<i2" if dtype != "F32" else "<i4").tobytes()
        header[name] = {"dtype": dtype, "shape": list(t.shape), "data_offsets": [offset, offset + len(raw)]}
        blobs.append(raw)
        offset += len(raw)
    header["__metadata__"] = {"format": "pt"}
    text = json.dumps(header).encode("utf-8")
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def read_safetensors(path):
    """A safetensors file read into torch tensors of the stored dtypes (bits reinterpreted, nothing widened)."""
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + n])
    header.pop("__metadata__", None)
    out = {}
    for name, spec in header.items():
        begin, end = spec["data_offsets"]
        raw = bytearray(data[8 + n + begin : 8 + n + end])
        out[name] = (spec["dtype"], torch.frombuffer(raw, dtype=STORE[spec["dtype"]]).reshape(spec["shape"]).clone())
    return out
