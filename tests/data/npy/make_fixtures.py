#!/usr/bin/env python3
"""Writes the .npy fixtures of tests/unit/npy_test.cpp with NumPy itself.

Run from this directory: /usr/bin/python3 make_fixtures.py (NumPy 1.24 made the committed files).
The test recomputes every value from the formulas below, so it checks the reader against
NumPy's own writer, not against itself.
"""
import numpy as np
from numpy.lib import format as npformat


def save(name, array, version=None):
    with open(name, "wb") as f:
        npformat.write_array(f, array, version=version, allow_pickle=False)


f32 = (np.arange(24, dtype="<f4") * 0.25 - 2.0).reshape(2, 3, 4)
save("f32_v1.npy", f32, (1, 0))
save("f32_v2.npy", f32, (2, 0))
save("f32_v3.npy", f32, (3, 0))
save("u8.npy", (np.arange(100) * 7 % 256).astype("|u1").reshape(10, 10))
save("i8.npy", np.arange(-128, 128).astype("|i1"))
save("i32.npy", np.arange(10, dtype="<i4") - 3)
save("i64.npy", (np.arange(6, dtype="<i8") - 2) * 10**12)
save("scalar.npy", np.array(3.5, dtype="<f4"))
save("empty.npy", np.zeros((0, 5), dtype="<f4"))
# Rejected by the reader:
save("f32_big_endian.npy", f32.astype(">f4"))
save("f32_fortran.npy", np.asfortranarray(f32.reshape(6, 4)))
save("f64.npy", np.arange(4, dtype="<f8"))
save("bool.npy", np.array([True, False]))
save("structured.npy", np.zeros(2, dtype=[("a", "<f4"), ("b", "<i4")]))
