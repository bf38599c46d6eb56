"""Is an ensemble worth serving? Two models alone and averaged, on quality and cost, in one run.

For each member and for their ensemble (model/ensemble.py: each decoding step the mean of the members'
probabilities), at the app's default decoding (beam 4, length-normalised): chrF and exact match on the
held-out split and on the visitor set, and the milliseconds a visitor's request costs (one sentence
at a time, the median over `--timed` visitor sentences, best of two passes each).

    python benchmarks/ensemble.py --models large long --data ../shared/data/fra-eng/fra.txt

The decision it prints follows the issue's rule: the ensemble is offered in the Space when it gains at
least `--min-gain` chrF on the visitor set over the better member and its request fits the app's
latency budget (`--budget-ms`, as benchmarks/decoding_choice.py); it becomes the default when it is
also the best on the held-out split. Prints JSON.
"""

from __future__ import annotations

import argparse
import datetime
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from model import backends, evaluation, splits  # noqa: E402
from model.sources import load_source  # noqa: E402

from decoding_choice import batch_one_ms  # noqa: E402  (a sibling: this folder is on sys.path)


def measure(translator, heldout, visitor, options, timed: int) -> dict:
    held, _ = evaluation.evaluate(translator, *heldout, options, progress=False)
    everyday, _ = evaluation.evaluate(translator, *visitor, options, progress=False)
    return {"heldout_chrf": held["chrf"], "heldout_exact": held["exact_match"],
            "heldout_tiers_chrf": {k: v.get("chrf") for k, v in held["tiers"].items() if v.get("sentences")},
            "visitor_chrf": everyday["chrf"], "visitor_exact": everyday["exact_match"],
            "batch_one_ms": batch_one_ms(translator, visitor[0][:timed], options)}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs=2, default=["large", "long"], help="the two members (model sources)")
    parser.add_argument("--data", help="fra-eng pair file, for the held-out split")
    parser.add_argument("--timed", type=int, default=60, help="visitor sentences timed one at a time (default 60)")
    parser.add_argument("--budget-ms", type=float, default=50.0, help="the app's latency budget a request (default 50)")
    parser.add_argument("--min-gain", type=float, default=1.0, help="visitor chrF the ensemble must gain (default 1)")
    args = parser.parse_args(argv)

    from space.options import APP_DEFAULT_OPTIONS

    options = APP_DEFAULT_OPTIONS.__class__(**{**APP_DEFAULT_OPTIONS.__dict__, "top_k": 1})
    members = {source: load_source(source) for source in args.models}
    both = "+".join(args.models)
    candidates = {**members, both: load_source(both)}
    backends.wait()
    first = members[args.models[0]]
    heldout = splits.load_split(first.metadata, "heldout", args.data)[:2]
    visitor = splits.load_split(first.metadata, "visitor")[:2]
    results = {name: measure(t, heldout, visitor, options, args.timed) for name, t in candidates.items()}
    best_member = max(args.models, key=lambda m: results[m]["visitor_chrf"])
    gain = round(results[both]["visitor_chrf"] - results[best_member]["visitor_chrf"], 2)
    fits = results[both]["batch_one_ms"] <= args.budget_ms
    offered = gain >= args.min_gain and fits
    default = offered and all(results[both]["heldout_chrf"] > results[m]["heldout_chrf"] for m in args.models)
    report = {
        "command": "python benchmarks/ensemble.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "decoding": "beam 4, length-normalised (the app's default)", "engine": first.backend,
        "results": results,
        "decision": {"visitor_gain_over_best_member": gain, "best_member": best_member,
                     "cost_over_best_member": round(results[both]["batch_one_ms"] / results[best_member]["batch_one_ms"], 2),
                     "fits_budget": fits, "budget_ms": args.budget_ms, "offer_in_space": offered, "default": default},
    }
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
