"""Writes Tests/Fixtures/interop/reference.safetensors with the reference `safetensors` library,
so the Swift reader is tested against files the real implementation writes.
Usage: PY=$(tools/venv.sh safetensors numpy); $PY tools/make-safetensors-fixture.py"""
import os
import numpy as np
from safetensors.numpy import save_file

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
tensors = {
    "weight": np.arange(6, dtype=np.float32).reshape(2, 3) / 4 - 0.5,
    "half": np.array([1.5, -2.0, 65504.0, 0.0001], dtype=np.float16),
    "scalar": np.array(3.25, dtype=np.float64),
    "empty": np.zeros((0, 4), dtype=np.float32),
    "ids": np.array([1, 2, 3], dtype=np.int64),
}
save_file(tensors, os.path.join(root, "Tests/Fixtures/interop/reference.safetensors"), metadata={"format": "np", "by": "safetensors"})
