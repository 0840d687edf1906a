"""The benchmark's IAM server: `python -m keytui.demo` (moto on 127.0.0.1, seeded with generated users),
optionally with a credential report that reads as AWS's does.

    python benchmarks/moto_server.py --users 1000 [--aws-like-report]

moto writes "not_supported" in every report's access_key_N_last_used_service and _region columns, where
AWS writes the service and region of the last use (or N/A for a key never used). keytui then (rightly)
treats a used key's last use as incomplete and asks GetAccessKeyLastUsed for it, one call per used key
that real AWS would not need. --aws-like-report fills those two columns as AWS does, so that keytui's
real fast path can be measured too. Everything else is moto's. Prints keytui.demo's JSON line when ready
and serves until SIGTERM.
"""

from __future__ import annotations

import argparse
import sys

# access_key_1_last_used_region/_service and access_key_2_… in moto's (and AWS's) column order.
_SLOTS = ((11, 12), (16, 17))


def aws_like_report() -> None:
    from moto.iam.models import User

    original = User.to_csv

    def to_csv(self: User) -> str:
        fields = original(self).rstrip("\n").split(",")
        for index, (region, service) in enumerate(_SLOTS):
            used = self.access_keys[index].last_used if index < len(self.access_keys) else None
            fields[region] = used.region if used is not None else "N/A"
            fields[service] = used.service if used is not None else "N/A"
        return ",".join(fields) + "\n"

    User.to_csv = to_csv  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--aws-like-report", action="store_true")
    args, rest = parser.parse_known_args(argv)
    if args.aws_like_report:
        aws_like_report()
    from keytui.demo import main as demo_main

    return demo_main(rest)


if __name__ == "__main__":
    sys.exit(main())
