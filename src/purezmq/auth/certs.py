"""CURVE certificate files: create, load one, load a directory of public ones.

The format is the one czmq and pyzmq write (ZPL: ``name = "value"`` lines,
sections by indentation), so certificates made by either load here and the
other way round:

- ``<name>.key`` holds the public key, ``<name>.key_secret`` both keys; the
  secret file is made readable by its owner only.
- Keys are stored Z85-encoded (40 characters) under the ``curve`` section;
  optional ``metadata`` entries go under ``metadata``.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path

from purezmq.utils import z85

__all__ = ["create_certificates", "load_certificate", "load_certificates"]

_PUBLIC_BANNER = """\
#   ****  Generated on {when} by purezmq  ****
#   ZeroMQ CURVE **public** certificate: the public key of "{name}".
#   Share it freely; check that it reached its reader unchanged.
"""
_SECRET_BANNER = """\
#   ****  Generated on {when} by purezmq  ****
#   ZeroMQ CURVE **secret** certificate: the key pair of "{name}".
#   Keep it private: whoever reads it can act as "{name}".
"""


def _write_cert(
    path: Path, banner: str, public: bytes, secret: bytes | None, metadata: dict[str, str]
) -> None:
    lines = [banner, "metadata"]
    for key, value in metadata.items():
        lines.append(f'    {key} = "{value}"')
    lines.append("curve")
    lines.append(f'    public-key = "{public.decode("ascii")}"')
    if secret is not None:
        lines.append(f'    secret-key = "{secret.decode("ascii")}"')
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def create_certificates(
    key_dir: str | os.PathLike[str], name: str, metadata: dict[str, str] | None = None
) -> tuple[str, str]:
    """Make a new CURVE key pair as ``<name>.key`` and ``<name>.key_secret`` in ``key_dir``.

    Returns the paths of the public and the secret certificate file.
    """
    from purezmq import curve_keypair

    public, secret = curve_keypair()
    when = datetime.datetime.now().isoformat(timespec="seconds")
    base = Path(key_dir) / name
    public_file = base.with_name(base.name + ".key")
    secret_file = base.with_name(base.name + ".key_secret")
    meta = dict(metadata or {})
    _write_cert(public_file, _PUBLIC_BANNER.format(when=when, name=name), public, None, meta)
    # Create the secret file owner-only before any key byte is written to it.
    fd = os.open(secret_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.close(fd)
    _write_cert(secret_file, _SECRET_BANNER.format(when=when, name=name), public, secret, meta)
    return str(public_file), str(secret_file)


def _unquote(value: str) -> str:
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def load_certificate(filename: str | os.PathLike[str]) -> tuple[bytes, bytes | None]:
    """Return ``(public_key, secret_key)`` (Z85 bytes) from a certificate file.

    ``secret_key`` is None for a public certificate; a file without a public
    key raises ValueError naming the file.
    """
    public: bytes | None = None
    secret: bytes | None = None
    with open(filename, encoding="utf-8") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith("#") or "=" not in line:
                continue
            key, _, value = line.partition("=")
            key = key.strip()
            if key == "public-key":
                public = _unquote(value).encode("ascii")
            elif key == "secret-key":
                secret = _unquote(value).encode("ascii")
    if public is None:
        raise ValueError(f"no public key found in {os.fspath(filename)}")
    for what, key_value in (("public", public), ("secret", secret)):
        if key_value is not None:
            try:
                z85.decode(key_value)
            except ValueError:
                raise ValueError(
                    f"the {what} key in {os.fspath(filename)} is not valid Z85"
                ) from None
            if len(key_value) != 40:
                raise ValueError(f"the {what} key in {os.fspath(filename)} is not 40 characters")
    return public, secret


def load_certificates(directory: str | os.PathLike[str] = ".") -> dict[bytes, bool]:
    """Public keys (Z85) of every ``*.key`` certificate in ``directory``, mapped to True."""
    path = Path(directory)
    if not path.is_dir():
        raise ValueError(f"invalid certificate directory: {os.fspath(directory)}")
    certs: dict[bytes, bool] = {}
    for cert in sorted(path.glob("*.key")):
        public, _ = load_certificate(cert)
        certs[public] = True
    return certs
