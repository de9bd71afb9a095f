"""Writes an encryption_keys.json exactly as DataMgmt Node's KeyManager does (services/key_manager.py):
PBKDF2-HMAC-SHA256(password, 16-byte salt, 480,000 iterations, 32 bytes) -> url-safe base64 ->
Fernet wrapping key; each data key is Fernet.generate_key(), wrapped, then standard-base64 encoded.

Usage: make-datamgmt-keyfile.py OUT_PATH PASSWORD VERSIONS
Prints JSON: {"keys": {"1": <data key>, ...}, "tokens": {"1": <a token of "record v1" under key 1>, ...}}
"""
import base64
import json
import os
import sys

from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC


def main():
    out, password, versions = sys.argv[1], sys.argv[2], int(sys.argv[3])
    salt = os.urandom(16)
    kdf = PBKDF2HMAC(algorithm=hashes.SHA256(), length=32, salt=salt, iterations=480000)
    master = Fernet(base64.urlsafe_b64encode(kdf.derive(password.encode())))
    keys = {v: Fernet.generate_key() for v in range(1, versions + 1)}
    data = {
        "salt": base64.b64encode(salt).decode(),
        "current_version": versions,
        "keys": {str(v): base64.b64encode(master.encrypt(k)).decode() for v, k in keys.items()},
    }
    with open(out, "w") as f:
        json.dump(data, f, indent=2)
    os.chmod(out, 0o600)
    tokens = {str(v): Fernet(k).encrypt(("record v%d" % v).encode()).decode() for v, k in keys.items()}
    json.dump({"keys": {str(v): k.decode() for v, k in keys.items()}, "tokens": tokens}, sys.stdout)


if __name__ == "__main__":
    main()
