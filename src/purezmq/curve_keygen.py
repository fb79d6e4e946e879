"""``python -m purezmq.curve_keygen`` (``python -m zmq.curve_keygen`` once installed as zmq).

libzmq's ``curve_keygen`` tool in Python: prints a new CURVE key pair, Z85
encoded, in the tool's format. ``python -m purezmq.curve_keygen NAME [DIR]``
writes it as the certificate files ``NAME.key`` and ``NAME.key_secret`` in
DIR (default: the current directory) instead, as ``zmq.auth.create_certificates``
does. Needs PyNaCl (``pip install purezmq[curve]``).
"""

from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m purezmq.curve_keygen", description="Generate a CURVE key pair."
    )
    parser.add_argument("name", nargs="?", help="write NAME.key and NAME.key_secret")
    parser.add_argument("directory", nargs="?", default=".", help="where to write them")
    args = parser.parse_args(argv)
    try:
        import purezmq

        if args.name:
            from purezmq.auth.certs import create_certificates

            public_file, secret_file = create_certificates(args.directory, args.name)
            print(public_file)
            print(secret_file)
            return 0
        public, secret = purezmq.curve_keypair()
    except ImportError as e:
        print(f"curve_keygen: {e} (pip install purezmq[curve])", file=sys.stderr)
        return 1
    print("== CURVE PUBLIC KEY ==")
    print(public.decode("ascii"))
    print("== CURVE SECRET KEY ==")
    print(secret.decode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
