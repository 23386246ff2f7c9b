"""`python -m edgebench.suite.monitors check NAME... [--config JSON]`: can these monitors run here?

Prints {"problems": [...], "checked": [...]} as JSON on stdout; exit 0 when all can run, 1 otherwise,
2 on bad arguments. The host runs it in the run environment (image or venv) before a campaign.
`list` prints every known monitor with its availability here.
"""

import argparse
import json
import sys
from typing import List, Optional

from . import check, names, probe


def main(argv: Optional[List[str]] = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m edgebench.suite.monitors")
    sub = ap.add_subparsers(dest="cmd")
    c = sub.add_parser("check", help="check that the named monitors can run here")
    c.add_argument("monitors", nargs="+")
    c.add_argument("--config", default="{}", help='JSON: {"ina219": {"address": "0x41"}}')
    sub.add_parser("list", help="every known monitor and whether it can run here")
    args = ap.parse_args(argv)
    if args.cmd == "check":
        try:
            configs = json.loads(args.config)
        except ValueError as e:
            print("--config is not JSON: %s" % e, file=sys.stderr)
            return 2
        problems = check(args.monitors, configs)
        print(json.dumps({"checked": args.monitors, "problems": problems}))
        return 1 if problems else 0
    if args.cmd == "list":
        print(json.dumps({n: probe(n) for n in names()}, indent=2))
        return 0
    ap.print_help(sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
