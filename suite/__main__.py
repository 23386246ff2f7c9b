"""python -m edgebench.suite run SPEC.json OUTDIR [--models DIR] | serve FRAMEWORK SOCKET | env | backends"""

import argparse
import json
import logging
import sys
from typing import List, Optional

from . import backends, env, monitors
from .spec import RunSpec, SchemaError

EXIT_OK, EXIT_FAILED, EXIT_BAD_INPUT = 0, 1, 2


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m edgebench.suite")
    sub = parser.add_subparsers(dest="cmd")
    p_run = sub.add_parser("run", help="run one spec, write results to OUTDIR")
    p_run.add_argument("spec")
    p_run.add_argument("outdir")
    p_run.add_argument("--models", default=None, help="folder that spec.artifact is relative to")
    p_exp = sub.add_parser("export", help="make a zoo model artefact: torch state dict or ONNX (needs torch, onnx)")
    p_exp.add_argument("--model", required=True)
    p_exp.add_argument("--format", choices=["torch", "onnx"], default="onnx")
    p_exp.add_argument("--out", required=True)
    p_exp.add_argument("--input", default="3,224,224", help="C,H,W")
    p_exp.add_argument("--num-classes", type=int, default=1000)
    p_exp.add_argument("--seed", type=int, default=0)
    p_exp.add_argument("--opset", type=int, default=17)
    p_srv = sub.add_parser("serve", help="import FRAMEWORK once, then fork a fresh child per run asked on SOCKET")
    p_srv.add_argument("framework")
    p_srv.add_argument("socket", help="Unix socket path to bind; the first connection is the host's")
    p_srv.add_argument("--no-runtime", action="store_true",
                       help="import the suite only; each child imports the runtime itself")
    sub.add_parser("env", help="print this environment as JSON")
    sub.add_parser("backends", help="print which backends and monitors can run here, as JSON")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(message)s")

    if args.cmd == "env":
        print(json.dumps(env.capture(), indent=2, sort_keys=True, default=str))
        return EXIT_OK
    if args.cmd == "backends":
        info = {"backends": {n: backends.probe(n) or "ok" for n in backends.names()},
                "monitors": {n: monitors.probe(n) or "ok" for n in monitors.names()}}
        print(json.dumps(info, indent=2, sort_keys=True))
        return EXIT_OK
    if args.cmd == "serve":
        from . import forkserver

        return forkserver.main(args.framework, args.socket, runtime=not args.no_runtime)
    if args.cmd == "export":
        try:
            from .artefacts.export import main_export
        except ImportError as e:  # device images ship no artefacts/ (host-only converters)
            sys.stderr.write("edgebench.suite export: artefacts are made on the host, not here (%s)\n" % e)
            return EXIT_BAD_INPUT
        return main_export(args)
    if args.cmd != "run":
        parser.print_help(sys.stderr)
        return EXIT_BAD_INPUT
    from .harness import run_file

    return run_file(args.spec, args.outdir, args.models)


if __name__ == "__main__":
    sys.exit(main())


__all__ = ["main", "SchemaError", "RunSpec"]
