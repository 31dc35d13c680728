#!/usr/bin/env python3
"""After `bench/gpu/check.sh`: the numbers a decision needs, from the folder it returned.

    python3 bench/gpu/summary.py RESULTS_DIR
    python3 bench/gpu/summary.py --winners RESULTS_DIR    the switches to flip, as -D options (check.sh each runs them)
    python3 bench/gpu/summary.py --unblamed RESULTS_DIR -D...   those options less the ones check.sh's blame failed

Prints the test verdicts from log.txt; per config, training and scoring img/s for each set of switches next to
the PyTorch twin (with the ratio the targets are stated in); each switch alone against the defaults, with a verdict; the bench-kernels rows (conv kernels and the last
layer's plan steps included) whose time changed between the default run and the run with NEW_PATHS, each plan's
steps summed (new paths rename some steps) and the steps found on one side only; the HF filter
against a copy; the choices auto made (sub-pixel, unfold, dense, 1×1, shifted; plan modes), one line each, for the
default and the NEW_PATHS kernel runs; each device profile's slowest ops and (op, shapes) pairs. Reads
results.jsonl and log.txt.
"""
import json
import sys
from pathlib import Path


def rows(path):
    for line in path.read_text().splitlines():
        line = line.strip()
        if line.startswith("{"):
            try:
                yield json.loads(line)
            except json.JSONDecodeError:
                print(f"(skipped a line of {path.name} that is not JSON: {line[:60]}...)", file=sys.stderr)


def flags(row):
    f = row.get("cuda_flags") or {}
    label = " ".join(f"{k.removeprefix('frl.cuda.')}={v}" for k, v in sorted(f.items())) or "defaults"
    return (label + (" --graph" if row.get("graph") else "") + (" --score-graph" if row.get("score_graph") else "")
            + (f" --dropout {row['dropout']}" if row.get("dropout") else ""))


def main(folder):
    folder = Path(folder)
    log = folder / "log.txt"
    if log.exists():
        print("== tests and steps (log.txt)")
        for line in log.read_text().splitlines():
            if line.startswith("[") and ("exit" in line or "junit" in line):
                print("  " + line[:220])
    results = folder / "results.jsonl"
    if not results.exists():
        sys.exit(f"no results.jsonl in {folder}")
    data = list(rows(results))

    print("\n== training / scoring img/s (engine vs the PyTorch twin of the same run; VAE IWAE-20, Glow and PixelCNN++ one pass)")
    kind = lambda r: (r.get("model", "vae"), r.get("config"))   # rows before Glow and PixelCNN++ named no model: the VAE's
    for model, config in sorted({kind(r) for r in data if "train_img_s" in r and "config" in r}):
        twin = [r for r in data if kind(r) == (model, config) and "framework" in r and "train_img_s" in r and not r.get("tf32")]
        t = twin[-1] if twin else None
        print(f"  {model} {config}: PyTorch " + (f"{t['train_img_s']:,.0f} / {t['score_img_s']:,.0f}" if t else "(no twin row)"))
        for r in data:
            if kind(r) != (model, config) or "framework" in r or "train_img_s" not in r:
                continue
            ratio = f"  ({r['train_img_s'] / t['train_img_s']:.2f}× / {r['score_img_s'] / t['score_img_s']:.2f}×)" if t else ""
            peak = f"  {r['device_memory_peak_mib']:,} MiB on the device" if "device_memory_peak_mib" in r else ""
            print(f"    {r['train_img_s']:>9,.0f} / {r['score_img_s']:>7,.0f}{ratio}{peak}  {flags(r)}")

    regret = [r for r in data if "regret_img_s" in r]
    if regret:
        print("\n== Likelihood Regret against FRL's score (frl bench --regret: the same random images through frl score's scorer)")
        for r in regret:
            print(f"  vae {r['config']}: FRL {r['frl_score_img_s']:,.1f} img/s, regret {r['regret_img_s']:,.2f} img/s over {r['regret_images']} images:"
                  f" FRL {r['frl_vs_regret']:,.1f}× faster (ANCHORS.md asks 150×)")

    requests = [r for r in data if "request_ms" in r]
    if requests:
        print("\n== scoring requests (frl bench --requests: one scorer call a request, as the library's Detector serves them)")
        for r in requests:
            how = "a kept recorded pass" if r["request_graph"] else "op by op"
            print(f"  {r['model']} {r['config']}: {r['request_images']} images in {r['request_ms']:,.2f} ms ({r['request_img_s']:,.0f} img/s), {how}  {flags(r)}")

    each_alone(data, log)

    print("\n== bench-kernels: rows that moved with NEW_PATHS (ms, default → with)")
    marker = next((i for i, r in enumerate(data) if "kernels_below_with" in r), None)
    if marker is None:
        print("  (no kernels_below_with marker: NEW_PATHS was empty, or the kernels step did not run)")
    else:
        before, after = kernel_rows(data[:marker]), kernel_rows(data[marker + 1:])
        for key, b in before.items():
            a = after.get(key)
            if a is not None and abs(a - b) > 0.02 * max(b, 1e-9):
                print(f"  {b:>8.3f} → {a:>8.3f}  {key}")
        # the new paths rename some plan steps (a fused gather, a batched GEMM): whole plans by their steps' sum,
        # then the steps found on one side only
        print("\n== plans step by step: the sum of their steps (ms, default → with NEW_PATHS)")
        for plan, b in plan_sums(before).items():
            a = plan_sums(after).get(plan)
            print(f"  {b:>8.3f} → " + (f"{a:>8.3f}" if a is not None else "       –") + f"  {plan}")
        for side, mine, other in (("default only", before, after), ("NEW_PATHS only", after, before)):
            for key in [k for k in mine if k not in other and " step " in k][:40]:
                print(f"  {side}: {mine[key]:>8.3f}  {key}")
    for r in data:
        if r.get("op") == "HF filter vs copy":
            print("  HF: " + json.dumps({k: v for k, v in r.items() if k != "op"}))
    for n, (label, part) in enumerate(kernel_runs(data)):
        for r in part:
            for key, v in r.items():
                if isinstance(v, str) and ("choices" in key or "plan modes" in key) and v not in ("{}", ""):
                    print(f"\n== {key} ({label})")
                    for entry in choice_entries(v):
                        print("  " + entry)
    for line in results.read_text().splitlines():
        if line.startswith("cuBLAS TF32 GEMM"):
            print("  " + line)   # how TF32 GEMMs read floats: decides whether x can be its own big part in 3xTF32
            break

    for n, block in enumerate(device_profiles(data), 1):
        print(f"\n== device profile {n}: {block['model']}, {block['ms']} ms a {block['pass']} step; top ops, then top (op, shapes)")
        for r in block["ops"][:10]:
            print(f"  {r['device_us_per']:>8.1f} µs  {r['calls_per']:>4.0f} calls  {r['op']}")
        for r in block["shapes"][:15]:
            print(f"  {r['device_us_per']:>8.1f} µs  {r['calls_per']:>4.0f} calls  {r['op_shapes'][:150]}")


def verdicts(data, log):
    """check.sh's `each`: (defaults' run, tests passed, blamed switches, [(gain, run, key, value, verdict)]) for each
    switch alone, cifar --graph training img/s against the defaults' run: flip where the new paths' tests passed (or,
    after they failed, check.sh's blame holds others responsible) and the switch alone is faster by more than 1% (a
    switch that only the kernel benches time, the HF and Glow ones, is read from their rows instead). None without a
    defaults' run or a run of one switch."""
    marker = next((i for i, r in enumerate(data) if "winners_below" in r), len(data))   # the winners' run is not one alone
    runs = [r for r in data[:marker] if r.get("config") == "cifar" and r.get("model", "vae") == "vae" and r.get("graph")
            and "framework" not in r and "train_img_s" in r]
    base = next((r for r in runs if not r.get("cuda_flags")), None)
    alone = [r for r in runs if len(r.get("cuda_flags") or {}) == 1]
    if base is None or not alone:
        return None
    text = log.read_text() if log.exists() else ""
    tests_ok = "junit (new paths" in text and all(" 0 tests failed" in l for l in text.splitlines() if "junit (new paths" in l)
    blamed = blamed_switches(text)
    out = []
    for r in alone:
        (k, v), = r["cuda_flags"].items()
        gain = r["train_img_s"] / base["train_img_s"]
        ok = tests_ok or (blamed is not None and k not in blamed)
        out.append((gain, r, k, v, "flip" if ok and gain > 1.01 else "keep off" if gain < 0.99 or not ok else "no change"))
    return base, tests_ok, blamed, out


def switch_key(option):
    """-Dfrl.cuda.X=V → frl.cuda.X"""
    return option.removeprefix("-D").split("=")[0]


def blamed_switches(text):
    """check.sh's blame, after the new paths' tests failed: the switches (frl.cuda.X) its lines hold responsible (one
    that fails alone, every one of a set that fails only together, every one it ran out of time before); None where it
    did not rerun the failing classes (then every switch stays off)."""
    if "blame: rerunning" not in text:
        return None
    keys = set()
    for line in text.splitlines():
        _, _, said = line.partition("blame: ")
        if said.endswith(" fails") or said.startswith(("fails only together: ", "out of time before ")):
            keys |= {switch_key(o) for o in said.split() if o.startswith("-D")}
    return keys


def winners(alone):
    """The switches to flip among verdicts' runs alone, as -D options: each whose verdict is flip, the faster value
    where one switch won with two (phaseGemms=batched and =auto, say), auto where they are within 0.5% (it keeps the
    faster way per shape)."""
    best = {}
    for gain, _, k, value, verdict in alone:
        had = best.get(k, (0, None))[0]
        if verdict == "flip" and (gain > had + 0.005 or (value == "auto" and gain > had - 0.005)):
            best[k] = (gain, value)
    return [f"-D{k}={value}" for k, (_, value) in best.items()]


def each_alone(data, log):
    """Each switch alone against the defaults, with its verdict, and the winners together (see verdicts, winners)."""
    v = verdicts(data, log)
    if v is None:
        return
    base, tests_ok, blamed, alone = v
    print(f"\n== each switch alone, cifar --graph training (defaults {base['train_img_s']:,.0f} img/s; new paths' tests "
          + ("passed" if tests_ok else "FAILED or not run" + (f"; blamed: {' '.join(sorted(blamed)) or 'none'}" if blamed is not None else ""))
          + ")")
    for gain, r, k, value, verdict in alone:
        print(f"  {gain:6.3f}×  {r['train_img_s']:>9,.0f}  {k.removeprefix('frl.cuda.')}={value}  → {verdict}")
    print("  winners together (check.sh each's last run): " + (" ".join(winners(alone)) or "none"))


def kernel_runs(data):
    """The bench-kernels rows by run: before the kernels_below_with marker (the defaults) and after it (NEW_PATHS)."""
    marker = next((i for i, r in enumerate(data) if "kernels_below_with" in r), None)
    return [("defaults", data)] if marker is None else [("defaults", data[:marker]), ("NEW_PATHS", data[marker + 1:])]


def choice_entries(text):
    """A Java map's toString ({key=value, ...}) as one line per entry, FasterPath's choices shortened to their path and times."""
    import re
    body = text.strip()[1:-1]
    entries = re.split(r", (?=[A-Za-z]\w* )", body)   # a new entry starts with an op's name and a space
    out = []
    for e in entries:
        key, _, value = e.rpartition("=Choice[") if "=Choice[" in e else e.rpartition("=")
        m = re.match(r"path=(\w+), kernelMs=([\d.]+), cudnnMs=([\d.E-]+|Infinity)", value)
        out.append(f"{m.group(1):>6}  kernel {float(m.group(2)):.3f} / cudnn {float(m.group(3)):.3f} ms  {key}" if m else f"{value:>24}  {key}")
    return out


def kernel_rows(part):
    """Milliseconds by row name: the one-op rows ({"op", "shape", "ms"}), and the named rows inside a grouped row
    (conv kernels: {"ms": …} values; StepTimes' plan steps: plain numbers)."""
    out = {}
    for r in part:
        if "op" in r and "ms" in r and "profile" not in r:
            out[f"{r['op']} {r.get('shape', '')}"] = r["ms"]
        elif "op" in r and "profile" not in r:
            for name, v in r.items():
                if isinstance(v, dict) and isinstance(v.get("ms"), (int, float)):
                    out[name] = v["ms"]
                elif isinstance(v, (int, float)) and " step " in name:
                    out[name] = v
    return out


def plan_sums(rows):
    """StepTimes' rows ("<layer> <plan> <GEMM mode> step <step>") summed per layer, plan and GEMM mode."""
    out = {}
    for key, ms in rows.items():
        if " step " in key:
            plan = key.split(" step ", 1)[0]
            out[plan] = out.get(plan, 0.0) + ms
    return out


def device_profiles(data):
    """The engine's DEVICE-mode profiles, in run order: a head row (a training step's or a scoring pass's), then its
    per-op and per-shape rows."""
    blocks = []
    for r in data:
        if r.get("profile") == "device" and "device_ms_per_step" in r:
            blocks.append({"ms": r["device_ms_per_step"], "model": r.get("model", "vae"), "pass": r.get("pass", "training"),
                           "ops": [], "shapes": []})
        elif r.get("profile") == "device" and blocks:
            if "op" in r:
                blocks[-1]["ops"].append(r)
            elif "op_shapes" in r:
                blocks[-1]["shapes"].append(r)
    return blocks

if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--winners":   # for check.sh on the GPU machine: one line of -D options
        d = Path(sys.argv[2])
        v = verdicts(list(rows(d / "results.jsonl")), d / "log.txt")
        print(" ".join(winners(v[3] if v else [])))
    elif len(sys.argv) >= 3 and sys.argv[1] == "--unblamed":   # for check.sh: the given -D options less the blamed ones
        blamed = blamed_switches((Path(sys.argv[2]) / "log.txt").read_text()) or set()
        print(" ".join(o for o in sys.argv[3:] if switch_key(o) not in blamed))
    elif len(sys.argv) == 2:
        main(sys.argv[1])
    else:
        sys.exit("usage: bench/gpu/summary.py RESULTS_DIR | --winners RESULTS_DIR | --unblamed RESULTS_DIR -D...")
