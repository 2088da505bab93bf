"""``twinbridge trust list|accept|reject``: the OPC UA server's client certificates, as Kepware's trust dialog.

A running server re-reads ``trusted/`` at the next connection attempt, so an accepted client connects again
without a restart.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

DEFAULT_PKI = Path("pki/opcua-server")  # the default gateway.opcua.pki_dir


def add_parser(sub: Any) -> None:
    """Register ``trust`` on the ``twinbridge`` sub-command parsers."""
    t = sub.add_parser(
        "trust",
        help="list, accept or reject the OPC UA server's client certificates (trusted/ and rejected/)",
        description="Client certificates the OPC UA server refused are kept in <pki>/rejected/; `accept` moves "
        "one to <pki>/trusted/ (the running server honours it at the client's next attempt), `reject` moves a "
        "trusted one back. Name a certificate by its file name or by 6+ hex digits of its thumbprint.",
    )
    t.add_argument("action", choices=["list", "accept", "reject"])
    t.add_argument("certificate", nargs="?", help="file name or thumbprint prefix, as `trust list` prints them")
    where = t.add_mutually_exclusive_group()
    where.add_argument("--pki", type=Path, help=f"the server's pki_dir (default: {DEFAULT_PKI})")
    where.add_argument("--demo", action="store_true", help="the PKI of `twinbridge demo`")


def cmd_trust(args: argparse.Namespace) -> int:
    """Run ``twinbridge trust``; 0 on success, 2 on a usage error or an unknown certificate."""
    from gateway.northbound.opcua.trust import TrustError, TrustFolders, demo_pki_dir

    pki = demo_pki_dir() if args.demo else (args.pki or DEFAULT_PKI)
    folders = TrustFolders(pki)
    if args.action == "list":
        return _list(folders)
    if not args.certificate:
        print(f"twinbridge trust {args.action}: name the certificate (see `twinbridge trust list`)", file=sys.stderr)
        return 2
    try:
        path = folders.accept(args.certificate) if args.action == "accept" else folders.reject(args.certificate)
    except (TrustError, OSError) as exc:
        print(f"twinbridge trust {args.action}: {exc}", file=sys.stderr)
        return 2
    print(f"{'trusted' if args.action == 'accept' else 'rejected'}: {path}")
    return 0


def _list(folders: Any) -> int:
    certs = folders.certificates()
    if not certs:
        print(f"no client certificates in {folders.trusted} or {folders.rejected}")
        return 0
    print(f"{'status':<9} {'thumbprint':<16} {'valid until':<10} application URI / subject  ->  file")
    for c in certs:
        who = c.application_uri or c.subject
        print(f"{c.status:<9} {c.thumbprint[:16]:<16} {c.not_after:%Y-%m-%d} {who}  ->  {c.path}")
    return 0
