#!/usr/bin/env bash
# Makes a TLS certificate for nginx in front of the node, with openssl.
#
#   scripts/tls-certs.sh [--ca] [--out DIR] [--days N] [--san NAME|IP]... [--force] HOSTNAME
#
# Without --ca: a self-signed certificate for HOSTNAME (clients must pin it).
# With --ca: a local CA (reused when DIR/ca.crt and DIR/ca.key exist) and a server certificate it
# signs; clients trust DIR/ca.crt. Give the CA to clients, never its key.
#
# Writes into DIR (default ./tls): HOSTNAME.key (0600), HOSTNAME.crt, and with --ca also ca.key
# (0600), ca.crt and HOSTNAME.fullchain.pem (server then CA, for nginx's ssl_certificate).
# Keys are ECDSA P-256. The server certificate carries HOSTNAME and every --san as
# subjectAltName (IP addresses as IP entries), serverAuth only. Existing files are kept unless
# --force is given.
set -euo pipefail

usage() { sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
die() { echo "tls-certs: $1" >&2; exit "${2:-1}"; }

ca=0 out="tls" days=397 force=0 host="" sans=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --ca) ca=1 ;;
    --out) [[ $# -ge 2 ]] || usage; out="$2"; shift ;;
    --days) [[ $# -ge 2 ]] || usage; days="$2"; shift ;;
    --san) [[ $# -ge 2 ]] || usage; sans+=("$2"); shift ;;
    --force) force=1 ;;
    -h|--help) usage ;;
    -*) echo "tls-certs: unknown option $1" >&2; usage ;;
    *) [[ -z "$host" ]] || usage; host="$1" ;;
  esac
  shift
done
[[ -n "$host" ]] || usage
[[ "$days" =~ ^[1-9][0-9]{0,4}$ ]] || die "--days must be a whole number of days" 2
command -v openssl >/dev/null 2>&1 || die "openssl is not installed (scripts/install-system-deps.sh)"

is_ip() { [[ "$1" =~ ^[0-9]{1,3}(\.[0-9]{1,3}){3}$ || "$1" == *:* ]]; }
is_name() { [[ "$1" =~ ^[A-Za-z0-9*]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$ ]]; }
alt_names=()
for name in "$host" "${sans[@]}"; do
  if is_ip "$name"; then alt_names+=("IP:$name")
  elif is_name "$name"; then alt_names+=("DNS:$name")
  else die "not a host name or IP address: $name" 2
  fi
done
is_name "$host" || is_ip "$host" || die "not a host name: $host" 2
san_line="$(IFS=,; echo "${alt_names[*]}")"

mkdir -p "$out"
key="$out/$host.key" crt="$out/$host.crt"
if [[ $force -eq 0 && ( -e "$key" || -e "$crt" ) ]]; then
  die "$key or $crt exists; --force replaces them"
fi

# Keys are created 0600 from the start, never world-readable for a moment.
umask 077
work="$(mktemp -d "$out/.tls-certs.XXXXXX")"
trap 'rm -rf "$work"' EXIT

new_key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

cat >"$work/server.ext" <<EOF
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = $san_line
subjectKeyIdentifier = hash
EOF

new_key "$work/server.key"
if [[ $ca -eq 0 ]]; then
  openssl req -new -x509 -key "$work/server.key" -out "$work/server.crt" -days "$days" -sha256 \
    -subj "/CN=$host" -extensions v3_server -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3_server]\n'; cat "$work/server.ext") \
    2>/dev/null
else
  if [[ ! -e "$out/ca.key" || ! -e "$out/ca.crt" ]]; then
    new_key "$work/ca.key"
    openssl req -new -x509 -key "$work/ca.key" -out "$work/ca.crt" -days 3650 -sha256 \
      -subj "/CN=DataMgmt Node local CA" -extensions v3_ca \
      -config <(printf '[req]\ndistinguished_name=dn\n[dn]\n[v3_ca]\nbasicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n') \
      2>/dev/null
    mv "$work/ca.key" "$out/ca.key"
    chmod 0644 "$work/ca.crt"
    mv "$work/ca.crt" "$out/ca.crt"
  fi
  openssl req -new -key "$work/server.key" -subj "/CN=$host" -out "$work/server.csr" 2>/dev/null
  printf 'authorityKeyIdentifier = keyid\n' >>"$work/server.ext"
  openssl x509 -req -in "$work/server.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" \
    -set_serial "0x$(openssl rand -hex 16)" -days "$days" -sha256 -extfile "$work/server.ext" \
    -out "$work/server.crt" 2>/dev/null
  openssl verify -CAfile "$out/ca.crt" "$work/server.crt" >/dev/null || die "the new certificate does not verify against $out/ca.crt"
  cat "$work/server.crt" "$out/ca.crt" >"$work/fullchain.pem"
  chmod 0644 "$work/fullchain.pem"
  mv "$work/fullchain.pem" "$out/$host.fullchain.pem"
fi
chmod 0600 "$work/server.key"
chmod 0644 "$work/server.crt"
mv "$work/server.key" "$key"
mv "$work/server.crt" "$crt"
if [[ $ca -eq 1 ]]; then
  echo "tls-certs: wrote $key, $crt, $out/$host.fullchain.pem (for ssl_certificate) and the CA $out/ca.crt" >&2
else
  echo "tls-certs: wrote $key and the self-signed $crt" >&2
fi
