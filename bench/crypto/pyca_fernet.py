"""Fernet encrypt/decrypt throughput of Debian's Python cryptography, timed inside Python.

Usage: pyca_fernet.py SECONDS SIZE...   Prints one JSON object: {"<size>": {"encrypt": ops/s, "decrypt": ops/s}}
"""
import json
import os
import sys
import time

from cryptography.fernet import Fernet


def rate(fn, seconds):
    fn()
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        fn()
        n += 1
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def main():
    seconds = float(sys.argv[1])
    f = Fernet(Fernet.generate_key())
    out = {}
    for size in map(int, sys.argv[2:]):
        data = os.urandom(size)
        token = f.encrypt(data)
        out[str(size)] = {"encrypt": rate(lambda: f.encrypt(data), seconds), "decrypt": rate(lambda: f.decrypt(token), seconds)}
    json.dump(out, sys.stdout)


if __name__ == "__main__":
    main()
