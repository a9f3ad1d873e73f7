"""Splice bench/results/latest.md into README.md between the bench markers."""
import os

START = "<!-- bench:start -->"
END = "<!-- bench:end -->"
HEADING = "## Performance"


def splice(readme_text, results_text):
    """README text with everything between the markers replaced by RESULTS_TEXT.

    When the markers are missing, a Performance section holding them is appended.
    Headings in the results are pushed down two levels so they nest under it.
    """
    body = "\n".join(("##" + line) if line.startswith("#") else line
                     for line in results_text.strip().splitlines())
    block = f"{START}\n{body}\n{END}"
    if START in readme_text and END in readme_text:
        head, _, rest = readme_text.partition(START)
        _, _, tail = rest.partition(END)
        return head + block + tail
    if HEADING not in readme_text:
        readme_text = readme_text.rstrip("\n") + f"\n\n{HEADING}\n"
    head, _, tail = readme_text.partition(HEADING)
    return head + HEADING + "\n\n" + block + "\n" + tail.lstrip("\n")


def update(repo, results_path):
    readme_path = os.path.join(repo, "README.md")
    with open(readme_path) as f:
        readme_text = f.read()
    with open(results_path) as f:
        results_text = f.read()
    with open(readme_path, "w") as f:
        f.write(splice(readme_text, results_text))
    return readme_path
