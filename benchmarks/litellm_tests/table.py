"""Per-file counts from `run_upstream.sh`'s output: for each LiteLLM test file, the tests
that passed on real LiteLLM (offline) and how many of those passed on `conduit.compat`.

    python benchmarks/litellm_tests/table.py run.txt [--missing]
"""

import re
import sys


def main(path: str, missing: bool) -> None:
    side, results = None, {"litellm": {}, "conduit": {}}
    with open(path, encoding="utf-8") as lines:
        for line in lines:
            if line.startswith("== "):
                side = line[3:].strip()
                continue
            found = re.match(r"^(PASSED|FAILED|ERROR) (\S+?\.py)(::.+?)?(?: - .*)?$", line.rstrip())
            if found and side in results:
                results[side][found.group(2) + (found.group(3) or "")] = found.group(1)
    files = sorted({test.split("::")[0] for tests in results.values() for test in tests})
    print("| LiteLLM test file | passed on LiteLLM | of those, on Conduit |")
    print("|---|---:|---:|")
    total_theirs = total_ours = 0
    for name in files:
        theirs = [
            t for t, r in results["litellm"].items() if t.startswith(name + "::") and r == "PASSED"
        ]
        ours = [t for t in theirs if results["conduit"].get(t) == "PASSED"]
        total_theirs, total_ours = total_theirs + len(theirs), total_ours + len(ours)
        print(f"| {name} | {len(theirs)} | {len(ours)} |")
    print(f"| **total** | **{total_theirs}** | **{total_ours}** |")
    if missing:
        for test, result in sorted(results["litellm"].items()):
            if result == "PASSED" and results["conduit"].get(test) != "PASSED":
                print("not on Conduit:", test, results["conduit"].get(test, "not run"))


if __name__ == "__main__":
    main(sys.argv[1], "--missing" in sys.argv[2:])
