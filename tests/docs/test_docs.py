"""The README and docs/: every link lands, every page is reachable from the README, the README
stays a front door, every command they quote exists, and the runbook has an entry for every
alarm and every error a run can end with."""

from __future__ import annotations

import contextlib
import functools
import importlib.util
import inspect
import io
import re
from dataclasses import dataclass
from pathlib import Path

from calltime.cli import COMMANDS, GROUPS, build_parser
from pipeline_lambdas import contract, errors
from training.call_log import InvalidCallLog

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "README.md"
DOCS = ROOT / "docs"
RUNBOOK = DOCS / "operating.md"
README_MAX_LINES = 200

# A fenced block, indented or not (a block inside a list item is indented).
FENCE = re.compile(r"^[ \t]*```[^\n]*\n(.*?)^[ \t]*```[ \t]*$", re.M | re.S)
INLINE = re.compile(r"`([^`]+)`")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6}[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)


def pages() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def prose(markdown: str) -> str:
    """The text outside fenced blocks (headings and links there are not Markdown)."""
    return FENCE.sub("", markdown)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercase, punctuation other than '-' dropped, spaces to
    hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    """Every heading's anchor in a page; a repeated one gets -1, -2, ... as on GitHub."""
    seen: dict[str, int] = {}
    found: set[str] = set()
    for heading in HEADING.findall(prose(path.read_text())):
        base = slug(heading)
        found.add(f"{base}-{seen[base]}" if base in seen else base)
        seen[base] = seen.get(base, 0) + 1
    return found


def links(path: Path) -> list[str]:
    """The targets of the Markdown links in a page (none inside code)."""
    return LINK.findall(INLINE.sub("code", prose(path.read_text())))


def broken_links(path: Path, root: Path = ROOT) -> list[str]:
    problems = []
    for target in links(path):
        if re.match(r"[a-z]+:", target):  # https:, mailto:
            continue
        file, _, anchor = target.partition("#")
        landed = (path.parent / file).resolve() if file else path
        where = f"{path.relative_to(root)}: ({target})"
        if not landed.exists():
            problems.append(f"{where}: no file {landed}")
        elif not landed.is_relative_to(root):
            problems.append(f"{where}: outside the repository")
        elif anchor and (landed.suffix != ".md" or anchor not in anchors(landed)):
            problems.append(f"{where}: no heading #{anchor} in {landed.relative_to(root)}")
    return problems


def test_every_relative_link_lands_on_a_file_and_a_heading() -> None:
    problems = [problem for page in pages() for problem in broken_links(page)]
    assert not problems, "\n".join(problems)


def test_the_link_check_reports_a_missing_heading_and_a_missing_file(tmp_path) -> None:
    page = tmp_path / "page.md"
    page.write_text("# Title\n\n## A section: here\n\n[ok](#a-section-here) [gone](#nowhere) "
                    "[file](missing.md) `[in code](#ignored)`\n```\n[in a block](#ignored)\n"
                    "## not a heading\n```\n")
    reported = broken_links(page, root=tmp_path)
    assert [problem.split(" (", 1)[1].split(")")[0] for problem in reported] == [
        "#nowhere", "missing.md"], reported


def test_every_docs_page_is_linked_from_the_readme() -> None:
    linked = {(README.parent / target.partition("#")[0]).resolve() for target in links(README)}
    missing = [str(page.relative_to(ROOT)) for page in DOCS.glob("*.md")
               if page.resolve() not in linked]
    assert not missing, f"not linked from README.md: {missing}"


def test_every_docs_page_has_a_title_and_links_back_to_the_readme() -> None:
    for page in DOCS.glob("*.md"):
        text = page.read_text()
        assert text.startswith("# "), page.name
        assert "../README.md" in links(page), page.name


def test_the_readme_is_a_front_door() -> None:
    lines = README.read_text().count("\n")  # as `wc -l` counts them
    assert lines <= README_MAX_LINES, f"README.md has {lines} lines; move some to docs/"


# --- the commands the pages quote -------------------------------------------------------------

@dataclass(frozen=True)
class Quoted:
    kind: str  # "calltime", "make" or "python -m"
    words: tuple[str, ...]  # subcommand path, make targets or the module
    flags: tuple[str, ...]
    text: str  # as quoted, for the failure message


CALLTIME = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)*calltime(?![\w/.-])")
MAKE = re.compile(r"(?<![\w/.-])make(?![\w/.-])")
PYTHON_M = re.compile(r"(?<![\w/.-])(?:[\w.-]+/)*python[\d.]*\s+-m\s+([\w.]+)")
WORD = re.compile(r"[a-z][a-z0-9-]*")
ASSIGNMENT = re.compile(r"[A-Z_][A-Z0-9_]*=")
FLAG = re.compile(r"--?[A-Za-z][\w-]*")
ENDS_COMMAND = ("#", "|", ";", "&", ">")  # a comment, a pipe, the next command, a redirection


def snippets(markdown: str) -> list[str]:
    """What a page quotes as code: each line of a fenced block (continuations joined) and each
    inline code span outside them (its line breaks as spaces)."""
    found = []
    for block in FENCE.findall(markdown):
        found += block.replace("\\\n", " ").splitlines()
    found += [" ".join(span.split()) for span in INLINE.findall(prose(markdown))]
    return found


def _alternatives(token: str, pattern: re.Pattern[str]) -> list[str] | None:
    """'list/show/watch' or 'synth|diff|deploy' as its words, if each is one."""
    parts = re.split(r"[/|]", token)
    return parts if all(pattern.fullmatch(part) for part in parts) else None


def _tokens(rest: str) -> list[str]:
    tokens = []
    for token in rest.split():
        if token.startswith(ENDS_COMMAND) or token == "<":  # not a <placeholder>
            break
        tokens.append(token)
    return tokens


def quoted_commands(markdown: str) -> list[Quoted]:
    """Every `calltime ...`, `make ...` and `python -m ...` a page quotes as code."""
    quoted = []
    for text in snippets(markdown):
        for match in CALLTIME.finditer(text):
            tokens = _tokens(text[match.end():])
            words: list[str] = []
            for token in tokens:  # the subcommand's words, up to its first flag or argument
                if _alternatives(token, WORD) is None:
                    break
                words.append(token.replace("|", "/"))
            flags = tuple(flag for token in tokens
                          if (flag := token.strip("[](),.").split("=")[0]) and FLAG.fullmatch(flag))
            if words:
                quoted.append(Quoted("calltime", tuple(words), flags, text.strip()))
        for match in MAKE.finditer(text):
            # The first word that is no VAR=value is the target ("synth|diff|deploy": three);
            # what follows it may be prose ("as make pipeline shows it").
            target = next((token for token in _tokens(text[match.end():])
                           if not ASSIGNMENT.match(token)), "")
            targets = _alternatives(target.rstrip(",.:)"), WORD)
            if targets:
                quoted.append(Quoted("make", tuple(targets), (), text.strip()))
        quoted += [Quoted("python -m", (module,), (), text.strip())
                   for module in PYTHON_M.findall(text)]
    return quoted


@functools.cache
def calltime_help(path: tuple[str, ...]) -> str | None:
    """`calltime <path> --help`'s text, or None when the parser refuses the path."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            _parser().parse_args([*path, "--help"])
        except SystemExit as exit_:
            return out.getvalue() if exit_.code == 0 else None
    return None


@functools.cache
def _parser():
    return build_parser()


@functools.cache
def make_targets() -> frozenset[str]:
    rules = re.findall(r"^([A-Za-z0-9_.][\w.\- ]*?)\s*::?(?!=)", (ROOT / "Makefile").read_text(),
                       re.M)
    return frozenset(target for rule in rules for target in rule.split())


def _subcommand_paths(words: tuple[str, ...]) -> list[tuple[str, ...]] | str:
    """The subcommand paths a quote names (alternatives expanded), or what is wrong."""
    known = {command.path for command in COMMANDS} | {(group,) for group in GROUPS}
    first, *rest = words
    if first in GROUPS and rest:
        paths = [(first, choice) for choice in rest[0].split("/")]
    else:
        paths = [(choice,) for choice in first.split("/")]
    unknown = [" ".join(path) for path in paths if path not in known]
    return f"no subcommand {', '.join(unknown)}" if unknown else paths


def command_problems(quoted: Quoted) -> list[str]:
    if quoted.kind == "make":
        return [f"no Makefile rule {target!r}" for target in quoted.words
                if target not in make_targets()]
    if quoted.kind == "python -m":
        spec = importlib.util.find_spec(quoted.words[0])
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{quoted.words[0]}.__main__")
        return [] if spec is not None else [f"no runnable module {quoted.words[0]}"]
    paths = _subcommand_paths(quoted.words)
    if isinstance(paths, str):
        return [paths]
    problems = []
    for path in paths:
        text = calltime_help(path)
        if text is None:
            problems.append(f"`calltime {' '.join(path)} --help` does not exit 0")
            continue
        options = set(re.findall(r"(?<![\w-])(--?[A-Za-z][\w-]*)", text))
        problems += [f"`calltime {' '.join(path)}` has no option {flag}"
                     for flag in quoted.flags if flag not in options]
    return problems


def documented_command_problems(markdown: str) -> list[str]:
    return [f"{quoted.text!r}: {problem}" for quoted in quoted_commands(markdown)
            for problem in command_problems(quoted)]


def test_every_command_the_pages_quote_exists() -> None:
    problems = [f"{page.relative_to(ROOT)}: {problem}" for page in pages()
                for problem in documented_command_problems(page.read_text())]
    assert not problems, "\n".join(problems)


def test_a_quoted_command_that_does_not_exist_is_reported() -> None:
    page = ("Run `calltime frobnicate --now`, then `calltime runs lst`, "
            "`calltime runs list --locl-state out/local-aws`, `make pipline SEED=8` and\n"
            "```sh\npython -m infra.costz --requests 1\n.venv/bin/calltime runs list  # ok\n```\n")
    problems = documented_command_problems(page)
    assert sorted(problem.rsplit(": ", 1)[1] for problem in problems) == [
        "`calltime runs list` has no option --locl-state",
        "no Makefile rule 'pipline'",
        "no runnable module infra.costz",
        "no subcommand frobnicate",
        "no subcommand runs lst",
    ], problems


def test_the_commands_quoted_are_found_where_the_pages_quote_them() -> None:
    page = ("`calltime runs list/show/watch` and `calltime unlock --stack <s> --region <r>`; "
            "`make synth|diff|deploy` with\n```sh\ncalltime generate --out DIR [--contacts N\n"
            "make pipeline CDK_ARGS=\"-c x=1\"   # and make test\n```\n"
            "not commands: `calltime-prod`, `/calltime/prod/live-model`, `calltime_client`.")
    found = {(q.kind, q.words, q.flags) for q in quoted_commands(page)}
    assert found == {
        ("calltime", ("runs", "list/show/watch"), ()),
        ("calltime", ("unlock",), ("--stack", "--region")),
        ("make", ("synth", "diff", "deploy"), ()),
        ("calltime", ("generate",), ("--out", "--contacts")),
        ("make", ("pipeline",), ()),
        ("make", ("test",), ()),
    }
    assert not documented_command_problems(page)


# --- the runbook --------------------------------------------------------------------------------

def runbook_entries() -> set[str]:
    return {heading.replace("`", "").strip() for heading in
            re.findall(r"^### +(.+)$", prose(RUNBOOK.read_text()), re.M)}


def alarm_ids() -> set[str]:
    """The alarm ids infra/monitoring.py creates (read from its source: no synthesis), which
    are the contract's (the ids `calltime status` reads)."""
    source = (ROOT / "infra" / "monitoring.py").read_text()
    created = set(re.findall(r"\balarm\(\s*\"([a-z0-9-]+)\"", source))
    keys = set(re.findall(r"^\s*\"([a-z0-9-]+)\": alarm\(", source, re.M))
    assert created and created == keys == set(contract.ALARM_IDS), (created, keys)
    return created


def run_errors() -> set[str]:
    """Every error class the steps raise (pipeline_lambdas/errors.py), InvalidCallLog, the
    error the state machine raises itself, and the end states that need a person."""
    classes = {name for name, member in inspect.getmembers(errors, inspect.isclass)
               if issubclass(member, BaseException) and member.__module__ == errors.__name__}
    assert classes
    needs_a_person = {state.value for state in contract.EndState} - {
        contract.EndState.DEPLOYED, contract.EndState.KEPT_CURRENT_MODEL}
    return classes | {InvalidCallLog.__name__, contract.DEPLOYMENT_FAILED_ERROR} | needs_a_person


def test_the_runbook_has_an_entry_for_every_alarm_and_every_error() -> None:
    missing = sorted((alarm_ids() | run_errors()) - runbook_entries())
    assert not missing, f"no `### <name>` entry in docs/operating.md for {missing}"
