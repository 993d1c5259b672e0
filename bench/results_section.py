"""One section of bench/results.md, replaced: the scripts that write their own section (aws.py,
login.py, github_app.py, fleet.py) leave the rest as bench.py wrote it."""
import os

RESULTS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "results.md")


def replace_section(title, text):
    """Replaces the section whose heading starts with `## <title>` by `text` (appended if none)."""
    old = open(RESULTS).read() if os.path.exists(RESULTS) else "# `make bench` results\n"
    marker = f"\n## {title}"
    if marker in old:
        head, _, rest = old.partition(marker)
        nxt = rest.find("\n## ")
        old = head + (rest[nxt:] if nxt >= 0 else "")
    with open(RESULTS, "w") as f:
        f.write(old.rstrip("\n") + "\n\n" + text)
