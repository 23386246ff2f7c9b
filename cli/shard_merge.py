"""`fleet merge` of shards: the campaign folders of one sharded plan (`--shard I/N` on N devices) joined
into one campaign, checked against the whole plan that every shard's campaign.json records.

A run is missing when the plan (or an adaptive decision) names it and no shard holds it host-checked; it
is duplicated when two shards hold it. Either is named, run by run, with the shard that should have run
it; the join keeps one copy of a duplicate (the first shard's) and the command exits non-zero.
"""

import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from edgebench.suite.fsutil import write_json

from . import store
from .adaptive import ADAPTIVE_FILE, read_decisions

JOINED_FROM = "joined_from"


def is_shard(camp: Path) -> bool:
    return bool(store.read_campaign_file(camp).get("shard"))


@dataclass
class Joined:
    campaigns: list[Path] = field(default_factory=list)  # the joined campaign folders
    missing: dict[str, list[str]] = field(default_factory=dict)  # per joined campaign, run ids no shard holds
    duplicated: dict[str, list[str]] = field(default_factory=dict)  # per joined campaign, run ids two shards hold
    lines: list[str] = field(default_factory=list)  # what to print

    @property
    def ok(self) -> bool:
        return not any(self.missing.values()) and not any(self.duplicated.values())


def base_name(info: dict[str, Any]) -> str:
    name, sh = str(info.get("name") or "campaign"), info["shard"]
    suffix = "-shard-%d-of-%d" % (sh["index"], sh["count"])
    return name[: -len(suffix)] if name.endswith(suffix) else name


def join(campaigns: list[Path], out_root: Path) -> Joined:
    """Every group of shards among `campaigns` joined under out_root/NAME (NAME: the campaign without its
    -shard-I-of-N), with the check of what is missing and duplicated."""
    groups: dict[tuple[str, str, int], list[tuple[Path, dict[str, Any]]]] = {}
    for camp in campaigns:
        info = store.read_campaign_file(camp)
        if info.get("shard"):
            key = (base_name(info), str((info.get("device") or {}).get("name")), int(info["shard"]["count"]))
            groups.setdefault(key, []).append((camp, info))
    out = Joined()
    for (name, device, count), members in sorted(groups.items()):
        dest = out_root / name
        if dest.exists():
            shutil.rmtree(dest)  # an earlier merge's output, made from the same shards
        dest.mkdir(parents=True)
        members.sort(key=lambda m: int(m[1]["shard"]["index"]))
        missing, duplicated = _join_one(name, device, count, members, dest, out.lines)
        out.campaigns.append(dest)
        out.missing[name], out.duplicated[name] = missing, duplicated
    return out


def _join_one(name: str, device: str, count: int, members: list[tuple[Path, dict[str, Any]]], dest: Path,
              lines: list[str]) -> tuple[list[str], list[str]]:
    plan_ids: list[str] = list(members[0][1]["shard"].get("plan_run_ids") or [])
    owner: dict[str, str] = {}  # run id -> the shard that planned it
    held: dict[str, list[str]] = {}  # run id -> the shards that hold it host-checked
    decisions: dict[str, Any] = {}
    seen = set()
    for camp, info in members:
        sh = info["shard"]
        label = "shard %d/%d (%s)" % (sh["index"], sh["count"], camp)
        seen.add(int(sh["index"]))
        for rid in info.get("run_ids") or []:
            owner.setdefault(rid, label)
        shard_decisions = read_decisions(camp)
        for d in shard_decisions.values():
            for rid in d.get("run_ids") or []:
                owner.setdefault(rid, label)
        decisions.update(shard_decisions)
        for stored in store.iter_runs(camp):
            if not stored.checked or stored.result is None:
                continue
            rid = stored.path.name
            held.setdefault(rid, []).append(label)
            if len(held[rid]) == 1:
                shutil.copytree(stored.path, dest / rid)
    expected = list(dict.fromkeys(plan_ids + list(owner)))
    missing = [rid for rid in expected if rid not in held]
    duplicated = sorted(rid for rid, where in held.items() if len(where) > 1)
    absent = sorted(set(range(1, count + 1)) - seen)
    info = dict(members[0][1])
    info.pop("shard", None)
    info.update({"name": name, "run_ids": expected, JOINED_FROM: [
        {"folder": str(c), "index": i["shard"]["index"], "count": i["shard"]["count"]} for c, i in members]})
    write_json(str(dest / store.CAMPAIGN_FILE), info)
    if decisions:
        write_json(str(dest / ADAPTIVE_FILE), decisions)
    _join_ramps(members, dest)
    lines.append("%s on %s: %d shard(s) of %d joined into %s: %d of %d runs%s%s" % (
        name, device, len(members), count, dest, len(expected) - len(missing), len(expected),
        ", %d missing" % len(missing) if missing else "", ", %d duplicated" % len(duplicated) if duplicated else ""))
    for i in absent:
        lines.append("  shard %d/%d: no campaign folder given" % (i, count))
    for rid in missing:
        lines.append("  missing %s (planned in %s)" % (rid, owner.get(rid, "an absent shard")))
    for rid in duplicated:
        lines.append("  duplicated %s (in %s; kept the first)" % (rid, ", ".join(held[rid])))
    return missing, duplicated


def _join_ramps(members: list[tuple[Path, dict[str, Any]]], dest: Path) -> None:
    """ramps.json of the shards as one (each group climbed on one shard: the groups are disjoint)."""
    got: dict[str, Any] = {}
    for camp, _ in members:
        try:
            data = json.loads((camp / "ramps.json").read_text())
        except (OSError, ValueError):
            continue
        got.setdefault("ramps", data.get("ramps", []))
        got["groups"] = got.get("groups", []) + list(data.get("groups", []))
        got["findings"] = sorted(set(got.get("findings", [])) | set(data.get("findings", [])))
    if got:
        write_json(str(dest / "ramps.json"), got)
