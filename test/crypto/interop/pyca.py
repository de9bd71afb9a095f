"""Debian's Python cryptography as an independent implementation for interop tests.

Reads {"ops": [...]} as JSON on stdin and writes {"results": [...]} on stdout, one result per op,
so a test file pays for one interpreter start. Bytes travel as standard base64. A failing op gives
{"error": "<exception class name>"} instead of stopping the batch.
"""
import base64
import json
import sys
import time

from cryptography.exceptions import InvalidSignature, InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM


def b64d(s):
    return base64.b64decode(s)


def b64e(b):
    return base64.b64encode(b).decode()


def private_key(pem):
    return serialization.load_pem_private_key(pem.encode(), password=None)


def public_key(pem):
    return serialization.load_pem_public_key(pem.encode())


def oaep():
    return padding.OAEP(mgf=padding.MGF1(hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def pss(salt):
    length = padding.PSS.MAX_LENGTH if salt == "max" else padding.PSS.DIGEST_LENGTH if salt == "digest" else int(salt)
    return padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=length)


def run(op):
    kind = op["op"]
    if kind == "fernet_generate_key":
        return {"key": Fernet.generate_key().decode()}
    if kind == "fernet_encrypt":
        f = Fernet(op["key"].encode())
        data = b64d(op["plaintext"])
        token = f.encrypt_at_time(data, op["now"]) if "now" in op else f.encrypt(data)
        return {"token": token.decode()}
    if kind == "fernet_decrypt":
        f = Fernet(op["key"].encode())
        token = op["token"].encode()
        if "ttl" in op:
            data = f.decrypt_at_time(token, op["ttl"], op.get("now", int(time.time())))
        else:
            data = f.decrypt(token)
        return {"plaintext": b64e(data)}
    if kind == "multifernet_rotate":
        mf = MultiFernet([Fernet(k.encode()) for k in op["keys"]])
        return {"token": mf.rotate(op["token"].encode()).decode()}
    if kind == "multifernet_decrypt":
        mf = MultiFernet([Fernet(k.encode()) for k in op["keys"]])
        return {"plaintext": b64e(mf.decrypt(op["token"].encode()))}
    if kind == "fernet_extract_timestamp":
        return {"timestamp": Fernet(op["key"].encode()).extract_timestamp(op["token"].encode())}
    if kind == "rsa_generate":
        key = rsa.generate_private_key(public_exponent=65537, key_size=op["bits"])
        return {
            "privateKeyPem": key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            ).decode(),
            "publicKeyPem": key.public_key()
            .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
            .decode(),
        }
    if kind == "pss_sign":
        sig = private_key(op["privateKeyPem"]).sign(b64d(op["data"]), pss(op.get("salt", "max")), hashes.SHA256())
        return {"signature": b64e(sig)}
    if kind == "pss_verify":
        try:
            public_key(op["publicKeyPem"]).verify(
                b64d(op["signature"]), b64d(op["data"]), pss(op.get("salt", "max")), hashes.SHA256()
            )
            return {"valid": True}
        except InvalidSignature:
            return {"valid": False}
    if kind == "oaep_encrypt":
        return {"ciphertext": b64e(public_key(op["publicKeyPem"]).encrypt(b64d(op["plaintext"]), oaep()))}
    if kind == "oaep_decrypt":
        return {"plaintext": b64e(private_key(op["privateKeyPem"]).decrypt(b64d(op["ciphertext"]), oaep()))}
    if kind == "gcm_encrypt":
        out = AESGCM(b64d(op["key"])).encrypt(b64d(op["nonce"]), b64d(op["plaintext"]), b64d(op["aad"]))
        return {"ciphertext": b64e(out[:-16]), "tag": b64e(out[-16:])}
    if kind == "gcm_decrypt":
        data = b64d(op["ciphertext"]) + b64d(op["tag"])
        return {"plaintext": b64e(AESGCM(b64d(op["key"])).decrypt(b64d(op["nonce"]), data, b64d(op["aad"])))}
    raise ValueError("unknown op " + kind)


def main():
    request = json.load(sys.stdin)
    results = []
    for op in request["ops"]:
        try:
            results.append(run(op))
        except (InvalidToken, InvalidTag, InvalidSignature, ValueError) as err:
            results.append({"error": type(err).__name__})
    json.dump({"results": results}, sys.stdout)


if __name__ == "__main__":
    main()
