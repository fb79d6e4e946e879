"""``purezmq keygen``: a CURVE key pair, printed or written as certificate files.

Without options it prints the Z85 public and secret keys (``--json`` for one
JSON object). ``--dir DIR`` writes ``NAME.key`` (public) and ``NAME.key_secret``
(both keys, owner-readable only) in the format pyzmq's
``zmq.auth.create_certificates`` and czmq write, so either side loads them.

keygen talks to no peer, so it has no endpoint, handshake or timeout to fail
on: it exits 1 when PyNaCl is missing or ``--dir`` cannot be written, 2 on a
bad option.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import purezmq
from purezmq.cli import common
from purezmq.cli.common import fail

EXAMPLES = """\
examples:
  purezmq keygen                          print a key pair (Z85)
  purezmq keygen --json                   {"public": "...", "secret": "..."}
  purezmq keygen --dir certs --name server
      writes certs/server.key and certs/server.key_secret; then
      purezmq rep -b tcp://*:5555 --curve-server --curve-keyfile certs/server.key_secret
      purezmq req -c tcp://127.0.0.1:5555 --curve-serverkey certs/server.key -m hi
"""


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "keygen",
        help="make a CURVE key pair (Z85), optionally as certificate files",
        description=__doc__.split("\n\n")[0],
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--dir", metavar="DIR", help="write NAME.key and NAME.key_secret in DIR")
    p.add_argument("--name", default="purezmq", help="certificate file name (default: purezmq)")
    p.add_argument(
        "--meta",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="metadata to put in the certificate files (repeatable)",
    )
    p.set_defaults(run=run_keygen)


def run_keygen(args: argparse.Namespace) -> int:
    if not purezmq.has("curve"):
        raise fail("CURVE keys need PyNaCl: pip install purezmq[curve]")
    if args.dir:
        from purezmq.auth.certs import create_certificates, load_certificate

        metadata = {}
        for item in args.meta:
            k, sep, v = item.partition("=")
            if not sep:
                raise fail(f"--meta {item!r}: expected KEY=VALUE", common.EXIT_USAGE)
            metadata[k] = v
        d = Path(args.dir)
        try:
            d.mkdir(parents=True, exist_ok=True)
            pub_file, sec_file = create_certificates(d, args.name, metadata or None)
        except OSError as e:
            raise fail(f"cannot write certificates in {d}: {e.strerror}") from None
        public, secret = load_certificate(sec_file)
        assert secret is not None
        if args.json:
            print(
                json.dumps(
                    {
                        "public": public.decode(),
                        "secret": secret.decode(),
                        "public_file": str(pub_file),
                        "secret_file": str(sec_file),
                    }
                )
            )
        else:
            print(f"public key:  {public.decode()}  ({pub_file})")
            print(f"secret key:  {secret.decode()}  ({sec_file}, keep it private)")
        return common.EXIT_OK
    if args.meta:
        raise fail("--meta goes with --dir (certificate files)", common.EXIT_USAGE)
    public, secret = purezmq.curve_keypair()
    if args.json:
        print(json.dumps({"public": public.decode(), "secret": secret.decode()}))
    else:
        print(f"public key:  {public.decode()}")
        print(f"secret key:  {secret.decode()}")
    sys.stdout.flush()
    return common.EXIT_OK
