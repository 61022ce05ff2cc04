"""``python -m tutorial COMMAND``: doctor, download, mirror, bench, results, export, site."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def vgg19_weights_place() -> str:
    """Where the pretrained VGG-19 file is (by name and size, unhashed: the notebooks check it when they load it)."""
    from pathlib import Path

    import torch

    from .data import ASSETS, data_dir, mirror

    asset = ASSETS["vgg19-imagenet"]
    places = [("data folder", data_dir() / asset.path),
              ("torch cache", Path(torch.hub.get_dir()) / "checkpoints" / Path(asset.path).name)]
    if mirror() and not mirror().startswith(("http://", "https://")):
        places.insert(1, ("mirror", Path(mirror()).expanduser() / asset.path))
    for where, path in places:
        if path.is_file() and path.stat().st_size == asset.size:
            return f"in the {where}: {path}"
    return ("not on this machine: downloaded on first use when online; offline, style transfer uses random "
            "weights (README: Data and offline use)")


def doctor() -> int:
    """Print versions, device and profile, and check that torchvision's compiled ops work with this torch."""
    import platform

    import torch
    import torchvision

    from .data import data_dir, mirror
    from .profiles import current_profile, pick_device

    print(f"python       {platform.python_version()}")
    print(f"torch        {torch.__version__}")
    print(f"torchvision  {torchvision.__version__}")
    print(f"device       {pick_device()}")
    print(f"profile      {current_profile()}")
    print(f"data folder  {data_dir()}")
    print(f"mirror       {mirror() or '(none: public URLs)'}")
    print(f"VGG-19       {vgg19_weights_place()}")
    try:
        boxes = torch.tensor([[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0, 1.0]])
        torchvision.ops.nms(boxes, torch.tensor([1.0, 0.5]), 0.5)
    except Exception as error:  # the CPU-only local torch wheel breaks torchvision's C++ ops
        print(f"\nPROBLEM: torchvision's compiled ops fail with this torch ({type(error).__name__}: {error}).\n"
              "torch and torchvision come from different builds. Reinstall both together from the registry:\n"
              "  pip install --force-reinstall torch torchvision", file=sys.stderr)
        return 1
    print("torchvision ops: ok")
    return 0


def list_assets() -> str:
    """Every group with its files, their sizes and how each is checked; the total a mirror must hold."""
    from .data import ASSETS, GROUPS, describe_size

    lines, total = [], 0
    for group, names in GROUPS.items():
        assets = [ASSETS[n] for n in names]
        size = sum(a.expected_bytes for a in assets)
        optional = all(a.optional for a in assets)
        total += 0 if optional else size
        approximate = "about " if any(not a.size for a in assets) else ""
        lines.append(f"{group} ({approximate}{size / 1e6:,.1f} MB{', optional: only when named' if optional else ''})")
        for a in assets:
            lines.append(f"  {a.name:32s} {describe_size(a):>22s}  {a.path}")
            if not a.sha256:
                lines.append(f"  {'':32s} {'':>22s}  checked: {a.check}")
    lines.append(f"every asset but the optional ones (download --all, mirror DIR): {total / 1e6:,.1f} MB")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tutorial", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("doctor", help="check the environment: versions, device, profile, torchvision ops")
    p = sub.add_parser("download", help="fetch and verify data assets (names or groups) into the data folder")
    p.add_argument("names", nargs="*", help="asset or group names (mnist, fashion-mnist, styles, content, ...)")
    p.add_argument("--all", action="store_true", help="every asset but the optional ones (see --list)")
    p.add_argument("--list", action="store_true", help="list the assets and groups, fetch nothing")
    p = sub.add_parser("mirror", help="build a local mirror folder for an offline room (fetches what is missing)")
    p.add_argument("folder")
    p.add_argument("names", nargs="*", help="only these assets or groups (default: all but the optional ones)")
    p = sub.add_parser("bench", help="train and evaluate one lesson (or all) from scratch; print JSON metrics")
    p.add_argument("lesson", help="a lesson (cnn, gan, ...), or all: every lesson, one after another")
    p.add_argument("--profile", default=None, help="smoke, laptop or full (default: TUTORIAL_PROFILE's)")
    p.add_argument("--device", default=None, help="cuda, mps or cpu (default: the best available)")
    p.add_argument("--json", dest="json_file", default=None, help="also write the JSON to this file")
    p.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                   help="change one of the lesson's settings for this run, e.g. --set epochs=15 (repeatable)")
    p.add_argument("--only", nargs="*", default=None, metavar="LESSON", help="with all: only these lessons")
    p = sub.add_parser("results", help="regenerate the README's bench-all tables from results/bench-PROFILE.json")
    p.add_argument("--check", action="store_true", help="only report whether the README is up to date; exit 1 if not")
    p.add_argument("--merge", nargs="*", default=[], metavar="FILE",
                   help="first add these bench-all files' lessons to results/bench-PROFILE.json (each lesson keeps "
                        "its own commit and start, shown in the table)")
    p = sub.add_parser("export", help="regenerate tutorial/ modules from the notebooks' '#| export' cells")
    p.add_argument("--check", action="store_true", help="only report modules that differ; exit 1 if any")
    p = sub.add_parser("site", help="execute every notebook (what changed) and render the course as a static site")
    p.add_argument("--profile", default=None, help="smoke, laptop or full (default: full on a GPU, else laptop)")
    p.add_argument("--timeout", type=int, default=900, help="seconds one cell may run (default 900)")
    p.add_argument("--only", nargs="*", default=None, metavar="NOTEBOOK", help="only these notebooks")
    args = parser.parse_args(argv)

    if args.command == "site":
        try:
            from .site import SiteError, build
        except ImportError as error:
            print(f"the site needs the `site` extra ({error}): pip install -e '.[site]' (make site does it)",
                  file=sys.stderr)
            return 1
        try:
            index = build(args.profile, timeout=args.timeout, only=args.only)
        except SiteError as error:
            print(error, file=sys.stderr)
            return 1
        print(f"Site ready: {index}")
        return 0

    if args.command == "doctor":
        return doctor()
    if args.command == "download":
        from .data import ASSETS, GROUPS, DownloadError, every_asset, fetch_all

        if args.list:
            print(list_assets())
            return 0
        if not args.names and not args.all:
            parser.error("name assets or groups to download, or pass --all (see --list)")
        try:
            paths = fetch_all(every_asset() if args.all else args.names)
        except (DownloadError, KeyError) as error:
            print(error.args[0] if error.args else error, file=sys.stderr)
            return 1
        print(f"{len(paths)} file(s) present and verified.")
        return 0
    if args.command == "mirror":
        from .data import DownloadError, make_mirror

        try:
            folder = make_mirror(args.folder, args.names or None)
        except (DownloadError, KeyError) as error:
            print(error.args[0] if error.args else error, file=sys.stderr)
            return 1
        print(f"Mirror ready at {folder}. In the room: export TUTORIAL_MIRROR={folder}")
        return 0
    if args.command == "bench":
        from .bench import run_benchmark
        from .profiles import SettingError, current_profile, parse_setting

        overrides = {}
        for item in args.overrides:
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                parser.error(f"--set takes KEY=VALUE, e.g. --set epochs=15; got {item!r}")
            overrides[key.strip()] = parse_setting(value)
        profile = args.profile or current_profile()
        if args.lesson == "all":
            from .bench import RESULTS, run_all

            if overrides:
                parser.error("--set changes one lesson's settings: use it with one lesson, not with all")
            json_file = args.json_file or str(RESULTS / f"bench-{profile}.json")
            record = run_all(profile, args.device, json_file, args.only)
            print(f"wrote {json_file} ({len(record['lessons'])} lesson(s), {len(record['failed'])} failed); "
                  "python -m tutorial results puts its table in README.md")
            return 1 if record["failed"] else 0
        if args.only:
            parser.error("--only goes with bench all")
        try:
            result = run_benchmark(args.lesson, profile, args.device, overrides)
        except SettingError as error:
            print(error, file=sys.stderr)
            return 2
        text = json.dumps(result, indent=2)
        print(text)
        if args.json_file:
            with open(args.json_file, "w") as f:
                f.write(text + "\n")
        return 0
    if args.command == "results":
        from .bench import README, RESULTS, merge_records, update_readme

        for name in args.merge:
            other = json.loads(Path(name).read_text())
            target = RESULTS / f"bench-{other['profile']}.json"
            base = json.loads(target.read_text()) if target.exists() else None
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(merge_records(base, other), indent=1) + "\n")
            print(f"{name}: {', '.join(sorted(other['lessons']))} merged into {target}")
        if args.check:
            stale = update_readme(README, RESULTS, write=False)
            print("README.md's bench-all tables are out of date: run python -m tutorial results" if stale
                  else "README.md's bench-all tables match results/")
            return 1 if stale else 0
        changed = update_readme(README, RESULTS)
        print("README.md updated from results/" if changed else "README.md already matches results/")
        return 0
    if args.command == "export":
        from .export import export

        stale = export(check=args.check)
        if args.check:
            print("\n".join(f"differs from its notebook: tutorial/{n}" for n in stale) or "all modules match")
            return 1 if stale else 0
        print("\n".join(f"wrote tutorial/{n}" for n in stale) or "nothing to do")
        return 0
    return 2  # pragma: no cover


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
