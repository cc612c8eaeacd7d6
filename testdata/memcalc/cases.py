#!/usr/bin/env python3
"""Expected results for bpdrift's port of the Paketo libjvm memory calculator (src/memory).

    python3 testdata/memcalc/cases.py > testdata/memcalc/cases.jsonl   # regenerate
    python3 testdata/memcalc/cases.py --check                           # exit 1 if cases.jsonl is stale

Standard library only (Python >= 3.8). Output is deterministic: the generated cases come from a
fixed-seed splitmix64, not from `random`, so they do not depend on the Python version.

The arithmetic (class count, metaspace, fixed regions, head room, heap, the fixed-regions error
and size formatting) is imported from verify_incident.py, the research report's own restatement,
which is copied unchanged. What that script does not cover is restated below from the report
(REPORT.md §1.2-§1.6) and libjvm v1.43.1 (b49cf30), kept in clearly separate functions:
  * reading the environment (BPL_*/BPI_*, JAVA_TOOL_OPTIONS, JAVA_OPTS appended by java-opts),
    including Go's strconv errors;
  * go-shellwords v1.0.12 splitting and the user-fixed-region flag patterns;
  * which flags are emitted (user-fixed ones are not) and the exact non-heap / all-regions errors
    (verify_incident.py abbreviates those with "...");
  * the minimum total that passes.
Every successful or failed calculation is cross-checked against verify_incident.calculate.

Each output line is one JSON object:
  name, env, app_classes, agent_classes, total  -- inputs (total in bytes, already capped)
  input_error                                    -- libjvm's error text when the env is invalid, else null
  inputs  {loaded_class_count, thread_count, head_room, java_tool_options, debug_line, agent_paths}
  result  {ok: true, flags, all_flags, heap, java_tool_options, log_line} | {ok: false, error}
  minimum {total, heap} | {error}                -- smallest whole-KiB total that passes
"""
import json
import os
import sys

sys.dont_write_bytecode = True  # no __pycache__ in testdata
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from verify_incident import (  # noqa: E402  (the copied script, unchanged)
    CLASS_LOAD_FACTOR, CLASS_OVERHEAD, CLASS_SIZE, DEFAULT_DIRECT, DEFAULT_RCC, DEFAULT_STACK,
    DEFAULT_THREADS, G, K, M, T, calculate as vi_calculate, fmt, loaded_class_count,
)

MAX_JVM_SIZE = 64 * T  # helper/memory_calculator.go L42


# ---------------------------------------------------------------------------------------------
# Re-statement 1: Go strconv (Atoi, ParseUint(s, 10, 32)) and %q, for libjvm's env errors.
# ---------------------------------------------------------------------------------------------
class NumError(Exception):
    def __init__(self, func, num, why):
        super().__init__(f'strconv.{func}: parsing {go_quote(num)}: {why}')


def go_quote(s):
    assert all(32 <= ord(c) < 127 for c in s), "cases use printable ASCII only"
    return '"' + s.replace('\\', '\\\\').replace('"', '\\"') + '"'


def go_parse_uint(s, bits, func, num):
    if not s:
        raise NumError(func, num, "invalid syntax")
    n = 0
    for c in s:
        if not ('0' <= c <= '9'):
            raise NumError(func, num, "invalid syntax")
        n = n * 10 + (ord(c) - 48)
        if n > (1 << bits) - 1:
            raise NumError(func, num, "value out of range")
    return n


def go_atoi(s):
    neg = s[:1] == '-'
    digits = s[1:] if s[:1] in ('-', '+') else s
    n = go_parse_uint(digits, 64, "Atoi", s)
    if (not neg and n >= 1 << 63) or (neg and n > 1 << 63):
        raise NumError("Atoi", s, "value out of range")
    return -n if neg else n


# ---------------------------------------------------------------------------------------------
# Re-statement 2: go-shellwords v1.0.12 Parse (ParseEnv/ParseBacktick off), calc flag patterns.
# ---------------------------------------------------------------------------------------------
class ShellwordsError(Exception):
    def __init__(self):
        super().__init__("invalid command line string")


def shellwords(line):
    args, buf = [], ""
    escaped = dq = sq = bq = dollar = False
    got = None  # None / "single" / "quoted"
    for r in line:
        if escaped:
            buf += r
            escaped, got = False, "single"
            continue
        if r == '\\':
            if sq:
                buf += r
            else:
                escaped = True
            continue
        if r in ' \t\r\n':
            if sq or dq or bq or dollar:
                buf += r
            elif got is not None:
                args.append(buf)
                buf, got = "", None
            continue
        if r == '`' and not sq and not dq and not dollar:
            bq = not bq
        elif r == ')' and not sq and not dq and not bq:
            dollar = not dollar
        elif r == '(' and not sq and not dq and not bq:
            if not dollar and buf.endswith('$'):
                dollar = True
                buf += '('
                continue
            raise ShellwordsError()
        elif r == '"' and not sq and not dollar:
            if dq:
                got = "quoted"
            dq = not dq
            continue
        elif r == "'" and not dq and not dollar:
            if sq:
                got = "quoted"
            sq = not sq
            continue
        elif r in ';&|<>' and not (sq or dq or bq or dollar):
            if r == '>' and buf[:1].isdigit():
                got = None
            break
        got = "single"
        buf += r
    if got is not None:
        args.append(buf)
    if escaped or sq or dq or bq or dollar:
        raise ShellwordsError()
    return args


# (kind, flag prefix, name used in libjvm errors); order = libjvm output order.
REGIONS = [
    ("direct", "-XX:MaxDirectMemorySize=", "direct memory"),
    ("heap", "-Xmx", "heap"),
    ("metaspace", "-XX:MaxMetaspaceSize=", "metaspace"),
    ("rcc", "-XX:ReservedCodeCacheSize=", "reserved code cache"),
    ("stack", "-Xss", "stack"),
]
UNITS = {"": 1, "k": K, "m": M, "g": G, "t": T}


def match_region(prefix, tok):
    """^<prefix>(([\\d]+)([kmgtKMGT]?))$ -> (digits, multiplier) or None."""
    if not tok.startswith(prefix):
        return None
    rest = tok[len(prefix):]
    i = 0
    while i < len(rest) and '0' <= rest[i] <= '9':
        i += 1
    if i == 0 or rest[i:].lower() not in UNITS or len(rest[i:]) > 1:
        return None
    return rest[:i], UNITS[rest[i:].lower()]


class FlagsError(Exception):
    pass


def parse_flags(jto):
    """calc.NewMemoryRegionsFromFlags: trimmed full match, last wins, untrimmed parse."""
    try:
        words = shellwords(jto)
    except ShellwordsError as e:
        raise FlagsError(f"unable to parse flags\n{e}")
    user = {}
    for tok in words:
        for kind, prefix, name in REGIONS:
            if match_region(prefix, tok.strip()):
                m = match_region(prefix, tok)
                if m is None:
                    raise FlagsError(f"unable to parse {name}\n{tok} does not match {name} pattern "
                                     f"^{prefix}(([\\d]+)([kmgtKMGT]?))$")
                if int(m[0]) >= 1 << 63:
                    raise FlagsError(f"unable to parse {name}\nunable to parse {name} size\n"
                                     f"memory size {go_quote(m[0])} is not an integer")
                user[kind] = int(m[0]) * m[1]
                break
    return user


# ---------------------------------------------------------------------------------------------
# Re-statement 3: Calculate with provenance and the exact messages of all three checks.
# ---------------------------------------------------------------------------------------------
def calculate_full(total, loaded, threads, head_pct, jto):
    try:
        user = parse_flags(jto)
    except FlagsError as e:
        return {"ok": False, "error": f"unable to create memory regions from flags\n{e}"}
    direct = user.get("direct", DEFAULT_DIRECT)
    rcc = user.get("rcc", DEFAULT_RCC)
    stack = user.get("stack", DEFAULT_STACK)
    meta = user.get("metaspace", CLASS_OVERHEAD + CLASS_SIZE * loaded)
    fixed = direct + meta + rcc + stack * threads
    fixed_s = (f"-XX:MaxDirectMemorySize={fmt(direct)}, -XX:MaxMetaspaceSize={fmt(meta)}, "
               f"-XX:ReservedCodeCacheSize={fmt(rcc)}, -Xss{fmt(stack)} * {threads} threads")
    if fixed > total:
        res = {"ok": False, "error": f"fixed memory regions require {fmt(fixed)} which is greater "
                                     f"than {fmt(total)} available for allocation: {fixed_s}"}
    else:
        head = int((float(head_pct) / 100) * float(total))
        nonheap = fixed + head
        nonheap_s = f"{fmt(head)} headroom, {fixed_s}"
        if nonheap > total:
            res = {"ok": False, "error": f"non-heap memory regions require {fmt(nonheap)} which is "
                                         f"greater than {fmt(total)} available for allocation: {nonheap_s}"}
        else:
            heap = user.get("heap", total - nonheap)
            if nonheap + heap > total:
                res = {"ok": False, "error": f"all memory regions require {fmt(nonheap + heap)} which is "
                                             f"greater than {fmt(total)} available for allocation: "
                                             f"-Xmx{fmt(heap)}, {nonheap_s}"}
            else:
                sizes = {"direct": direct, "heap": heap, "metaspace": meta, "rcc": rcc, "stack": stack}
                flags = [p + fmt(sizes[k]) for k, p, _ in REGIONS if k not in user]
                res = {"ok": True, "flags": " ".join(flags),
                       "all_flags": " ".join(p + fmt(sizes[k]) for k, p, _ in REGIONS), "heap": heap}
    # Cross-check against the copied script, which takes the user-fixed sizes as arguments.
    vi = vi_calculate(total, loaded, threads=threads, headroom_pct=head_pct, direct=direct, rcc=rcc,
                      stack=stack, metaspace=user.get("metaspace"), heap=user.get("heap"))
    if res["ok"]:
        assert vi == ("OK", res["all_flags"]), (vi, res)
    elif vi[1].endswith(" ..."):
        assert vi[0] == "ERR" and res["error"].startswith(vi[1][:-4] + " which is greater"), (vi, res)
    else:
        assert vi == ("ERR", res["error"]), (vi, res)
    return res


# ---------------------------------------------------------------------------------------------
# Re-statement 4: the helper's environment handling (helper/memory_calculator.go L53-L139) and
# java-opts (helper/java_opts.go), in libjvm's order so the first error matches.
# ---------------------------------------------------------------------------------------------
class InputError(Exception):
    pass


def env_int(env, name):
    if name not in env:
        return None
    try:
        return go_atoi(env[name])
    except NumError as e:
        raise InputError(f"unable to convert ${name}={env[name]} to integer\n{e}")


def read_env(env, app_classes, agent_classes):
    head = 0
    for name in ("BPL_JVM_HEADROOM", "BPL_JVM_HEAD_ROOM"):  # the second overrides the first
        v = env_int(env, name)
        if v is not None:
            head = v
    jto = env.get("JAVA_TOOL_OPTIONS")
    if "JAVA_OPTS" in env:  # java-opts runs before memory-calculator (exec.d file-name order)
        jto = env["JAVA_OPTS"] if jto is None else jto + " " + env["JAVA_OPTS"]
    loaded = env_int(env, "BPL_JVM_LOADED_CLASS_COUNT")
    debug = None
    agents = [t.split(":")[1] for t in shellwords_or_empty(jto) if t.startswith("-javaagent:")]
    if loaded is None:
        if "BPI_APPLICATION_PATH" not in env:
            raise InputError("$BPI_APPLICATION_PATH must be set")
        jvm = env_int(env, "BPI_JVM_CLASS_COUNT")
        if jvm is None:
            raise InputError("$BPI_JVM_CLASS_COUNT must be set")
        try:
            shellwords(jto or "")
        except ShellwordsError as e:
            raise InputError(f"unable to parse $JAVA_TOOL_OPTIONS\n{e}")
        pct, static = 100, 0
        adj = env.get("BPL_JVM_CLASS_ADJUSTMENT")
        if adj is not None:
            if adj.endswith("%"):
                try:
                    pct = go_parse_uint(adj[:-1], 32, "ParseUint", adj[:-1])
                except NumError as e:
                    raise InputError(f"unable to parse $BPL_JVM_CLASS_ADJUSTMENT {adj} as a percentage\n{e}")
            else:
                try:
                    static = go_atoi(adj)
                except NumError as e:
                    raise InputError(f"unable to parse $BPL_JVM_CLASS_ADJUSTMENT {adj} as an integer\n{e}")
        loaded = loaded_class_count(jvm, app_classes, agent_classes, static_adj=static, pct=pct)
        debug = f"Memory Calculation: ({pct}% * ({jvm} + {app_classes} + {agent_classes} + {static})) * {CLASS_LOAD_FACTOR:.2f}"
    threads = env_int(env, "BPL_JVM_THREAD_COUNT")
    return {"loaded_class_count": loaded, "thread_count": DEFAULT_THREADS if threads is None else threads,
            "head_room": head, "java_tool_options": jto, "debug_line": debug, "agent_paths": agents}


def shellwords_or_empty(jto):
    try:
        return shellwords(jto or "")
    except ShellwordsError:
        return []


def minimum(inp):
    """Smallest whole-KiB total that passes; bisection, checked against closed forms."""
    def at(kib):
        return calculate_full(kib * K, inp["loaded_class_count"], inp["thread_count"], inp["head_room"],
                              inp["java_tool_options"] or "")
    first = at(0)
    if first["ok"] or first["error"].startswith("unable to create memory regions"):
        return {"total": 0, "heap": first["heap"]} if first["ok"] else {"error": first["error"]}
    hi = MAX_JVM_SIZE // K
    top = at(hi)
    if not top["ok"]:
        return {"error": top["error"]}
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if at(mid)["ok"]:
            hi = mid
        else:
            lo = mid
    res = at(hi)
    assert res["ok"] and not at(hi - 1)["ok"]
    user = parse_flags(inp["java_tool_options"] or "")
    if inp["head_room"] == 0:  # closed form: ceil((fixed [+ user heap]) / 1KiB)
        fixed = (user.get("direct", DEFAULT_DIRECT) + user.get("rcc", DEFAULT_RCC)
                 + user.get("stack", DEFAULT_STACK) * inp["thread_count"]
                 + user.get("metaspace", CLASS_OVERHEAD + CLASS_SIZE * inp["loaded_class_count"]))
        assert hi == -(-(fixed + user.get("heap", 0)) // K), (hi, fixed)
    return {"total": hi * K, "heap": res["heap"]}


def expected(case):
    env = case["env"]
    out = dict(case)
    try:
        inp = read_env(env, case["app_classes"], case["agent_classes"])
    except InputError as e:
        out.update(input_error=str(e), inputs=None, result=None, minimum=None)
        return out
    out["input_error"] = None
    out["inputs"] = inp
    jto = inp["java_tool_options"]
    res = calculate_full(case["total"], inp["loaded_class_count"], inp["thread_count"], inp["head_room"], jto or "")
    if res["ok"]:
        values = ([] if jto is None else [jto]) + ([res["flags"]] if res["flags"] else [])
        res["java_tool_options"] = " ".join(values)
        res["log_line"] = (f"Calculated JVM Memory Configuration: {res['flags']} (Total Memory: {fmt(case['total'])}, "
                           f"Thread Count: {inp['thread_count']}, Loaded Class Count: {inp['loaded_class_count']}, "
                           f"Headroom: {inp['head_room']}%)")
    out["result"] = res
    out["minimum"] = minimum(inp)
    return out


# ---------------------------------------------------------------------------------------------
# The cases.
# ---------------------------------------------------------------------------------------------
APP = {"BPI_APPLICATION_PATH": "/workspace"}


def case(name, env, total, app=0, agent=0):
    return {"name": name, "env": env, "app_classes": app, "agent_classes": agent, "total": total}


def hand_written():
    jvm100 = dict(APP, BPI_JVM_CLASS_COUNT="100")
    incident = {"BPL_JVM_LOADED_CLASS_COUNT": "18840"}
    return [
        # libjvm v1.43.1 helper/memory_calculator_test.go
        case("libjvm: defaults, 1G", jvm100, G),
        case("libjvm: static adjustment 10", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="10"), G),
        case("libjvm: static adjustment -40", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="-40"), G),
        case("libjvm: adjustment 110%", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="110%"), G),
        case("libjvm: adjustment 60%", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="60%"), G),
        case("libjvm: adjustment -40% fails", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="-40%"), G),
        case("libjvm: BPL_JVM_HEADROOM", dict(jvm100, BPL_JVM_HEADROOM="10"), G),
        case("libjvm: BPL_JVM_HEAD_ROOM", dict(jvm100, BPL_JVM_HEAD_ROOM="10"), G),
        case("libjvm: both head rooms", dict(jvm100, BPL_JVM_HEADROOM="20", BPL_JVM_HEAD_ROOM="10"), G),
        case("libjvm: loaded class count 100", dict(jvm100, BPL_JVM_LOADED_CLASS_COUNT="100"), G),
        case("libjvm: thread count 100", dict(jvm100, BPL_JVM_THREAD_COUNT="100"), G),
        case("libjvm: meminfo 11514136 kB", jvm100, 11514136 * K),
        case("libjvm: 64T cap", jvm100, MAX_JVM_SIZE),
        case("libjvm: cgroup v1 10G", jvm100, 10 * G),
        case("libjvm: cgroup v2 11G", jvm100, 11 * G),
        case("libjvm: existing JAVA_TOOL_OPTIONS", dict(jvm100, JAVA_TOOL_OPTIONS="test-java-tool-options"), G),
        case("libjvm: agent jar (2 classes)", dict(jvm100, JAVA_TOOL_OPTIONS="-javaagent:../count/testdata/stub-dependency.jar"), G, agent=2),
        case("libjvm: empty JAVA_TOOL_OPTIONS", dict(jvm100, JAVA_TOOL_OPTIONS=""), G),
        case("libjvm: user metaspace and agent", dict(jvm100, JAVA_TOOL_OPTIONS="-XX:MaxMetaspaceSize=20000K -javaagent:../count/testdata/stub-dependency.jar"), G, agent=2),
        case("libjvm: all user configured", dict(jvm100, JAVA_TOOL_OPTIONS="-XX:MaxDirectMemorySize=10M -Xmx522705K -XX:MaxMetaspaceSize=13870K -XX:ReservedCodeCacheSize=240M -Xss1M"), G),
        case("libjvm: missing BPI_APPLICATION_PATH", {"BPI_JVM_CLASS_COUNT": "100"}, G),
        case("libjvm: missing BPI_JVM_CLASS_COUNT", dict(APP), G),
        # The incident (REPORT §1.7)
        case("incident: 616300K meminfo, 18840 loaded", incident, 616300 * K),
        case("incident: counted, 53830 classes", dict(APP, BPI_JVM_CLASS_COUNT="20444"), 616300 * K, app=33242, agent=144),
        case("incident: 512MiB, 144 threads", dict(incident, BPL_JVM_THREAD_COUNT="144"), 512 * M),
        case("incident: 768MiB", incident, 768 * M),
        case("incident: pinned code cache and stack", dict(incident, JAVA_TOOL_OPTIONS="-XX:ReservedCodeCacheSize=120M -Xss512k"), 616300 * K),
        # JAVA_OPTS, quoting, patterns
        case("JAVA_OPTS only", dict(incident, JAVA_OPTS="-Xss512k -XX:MaxMetaspaceSize=200M"), G),
        case("JAVA_OPTS appended, last -Xss wins", dict(incident, JAVA_TOOL_OPTIONS="-Xss256k", JAVA_OPTS="-Xss768k"), G),
        case("JAVA_OPTS -Xmx too large", dict(incident, JAVA_OPTS="-Xmx300m"), 616300 * K),
        case("non-matching flags ignored", dict(incident, JAVA_TOOL_OPTIONS="-Xms512m -Xmx512MB -XX:MaxRAMPercentage=75 -Xss=1M -Xmx"), G),
        case("quoted flags", dict(incident, JAVA_TOOL_OPTIONS="'-Xss1m' \"-Xmx300m\" -Dx=\"a b\""), G),
        case("flags after | are not seen", dict(incident, JAVA_TOOL_OPTIONS="-Dsep=a|b -Xmx100m"), G),
        case("quoted token with a space fails", dict(incident, JAVA_TOOL_OPTIONS="\"-Xmx300m \""), G),
        case("unbalanced quote, no counting", dict(incident, JAVA_TOOL_OPTIONS="-Dx='a"), G),
        case("unbalanced quote while counting", dict(APP, BPI_JVM_CLASS_COUNT="100", JAVA_TOOL_OPTIONS="-Dx='a"), G),
        case("agent with options", dict(APP, BPI_JVM_CLASS_COUNT="20000", JAVA_TOOL_OPTIONS="-javaagent:/a.jar=opts -javaagent:/b.jar"), G, app=1000, agent=300),
        # Errors and odd values
        case("non-heap error from head room", dict(incident, BPL_JVM_HEAD_ROOM="10"), 700 * M),
        case("head room 100% never fits", dict(incident, BPL_JVM_HEAD_ROOM="100"), G),
        case("negative head room", dict(incident, BPL_JVM_HEAD_ROOM="-5"), 640 * M),
        case("thread count abc", dict(incident, BPL_JVM_THREAD_COUNT="abc"), G),
        case("thread count empty", dict(incident, BPL_JVM_THREAD_COUNT=""), G),
        case("head room 10%", dict(incident, BPL_JVM_HEAD_ROOM="10%"), G),
        case("deprecated head room invalid", dict(incident, BPL_JVM_HEADROOM="x", BPL_JVM_HEAD_ROOM="5"), G),
        case("loaded class count 1e3", {"BPL_JVM_LOADED_CLASS_COUNT": "1e3"}, G),
        case("loaded class count out of range", {"BPL_JVM_LOADED_CLASS_COUNT": "99999999999999999999"}, G),
        case("adjustment +10% fails", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="+10%"), G),
        case("adjustment abc", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="abc"), G),
        case("adjustment 4294967296% out of range", dict(jvm100, BPL_JVM_CLASS_ADJUSTMENT="4294967296%"), G),
        case("adjustment ignored with loaded count", dict(incident, BPL_JVM_CLASS_ADJUSTMENT="abc", BPI_JVM_CLASS_COUNT="x"), G),
        case("BPI_JVM_CLASS_COUNT invalid", dict(APP, BPI_JVM_CLASS_COUNT="20k"), G),
        case("zero threads", dict(incident, BPL_JVM_THREAD_COUNT="0"), 512 * M),
    ]


def splitmix64(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        yield z ^ (z >> 31)


def generated(n=40):
    rng = splitmix64(20230607)

    def pick(options):
        return options[next(rng) % len(options)]

    cases = []
    for i in range(n):
        env = dict(APP)
        env["BPI_JVM_CLASS_COUNT"] = str(pick([100, 13_000, 20_444, 26_588, 30_531]))
        app = pick([0, 2_000, 12_562, 33_242, 40_000])
        agent = pick([0, 0, 144, 2_500])
        if (t := pick([None, "50", "100", "144", "250", "300", "1"])) is not None:
            env["BPL_JVM_THREAD_COUNT"] = t
        for name in pick([(), (), ("BPL_JVM_HEAD_ROOM",), ("BPL_JVM_HEADROOM",),
                          ("BPL_JVM_HEADROOM", "BPL_JVM_HEAD_ROOM")]):
            env[name] = pick(["0", "5", "10", "25"])
        if (a := pick([None, None, "110%", "60%", "100%", "0%", "10", "-40", "+500", "-1000", "250%"])) is not None:
            env["BPL_JVM_CLASS_ADJUSTMENT"] = a
        if (lc := pick([None, None, None, None, "18840", "100", "30000"])) is not None:
            env["BPL_JVM_LOADED_CLASS_COUNT"] = lc
        if (jto := pick([None, None, "", "-Xss512k", "-XX:MaxMetaspaceSize=200M", "-Xmx300m",
                         "-XX:ReservedCodeCacheSize=120m -Xss256k", "-Xms512m -Xmx512MB",
                         "-javaagent:/agents/x.jar -XX:MaxDirectMemorySize=20m",
                         "-Dspring.profiles.active=prod", "'-Xss1m' \"-Xmx1g\"",
                         "-XX:+UseG1GC -XX:MaxRAMPercentage=75"])) is not None:
            env["JAVA_TOOL_OPTIONS"] = jto
        if (jo := pick([None, None, None, "-Xss768k", "-Xmx256M", "-XX:MaxMetaspaceSize=96m"])) is not None:
            env["JAVA_OPTS"] = jo
        total = pick([256 * M, 512 * M, 616300 * K, 640 * M, 768 * M, G, 2 * G, 4 * G, 11514136 * K,
                      3 * G + 123 * K + 456])
        cases.append(case(f"generated {i:02d}", env, total, app=app, agent=agent))
    return cases


def render():
    lines = [json.dumps(expected(c), sort_keys=True, separators=(",", ":")) for c in hand_written() + generated()]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    text = render()
    if sys.argv[1:] == ["--check"]:
        path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cases.jsonl")
        with open(path, encoding="utf-8") as f:
            if f.read() != text:
                sys.stderr.write(f"{path} is stale: run python3 {sys.argv[0]} > {path}\n")
                sys.exit(1)
    else:
        sys.stdout.write(text)
