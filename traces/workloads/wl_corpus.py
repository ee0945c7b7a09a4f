"""The corpus's own workloads, one program per MODE, for CPython 2.7 and
3.x alike (the asyncio ones are in wl_async.py). Every size is an argument
and nothing depends on the clock, so a run is deterministic under
PYTHONHASHSEED=0.

    python wl_corpus.py MODE SIZE

genpipe     (a) waves of generator pipelines, SIZE pipelines of 5 stages live at once
genexps     (a) waves of SIZE three-deep generator-expression chains live at once
recursion   (b) recursion 200 to 2,000 deep through 6 functions of different frame sizes
nested_eval (b) a recursive-descent parser and evaluator of arithmetic nested 100 to 1,300 deep
methods     (b) SIZE calls into 60 classes of 8 methods of 21 frame sizes, each calling
            a peer's method up to 8 deep, so a method is now and then already running
exec        (c) SIZE generated modules compiled, exec'd, called and dropped
lambdas     (c) lambda and closure factories: SIZE eval'd lambdas, each called a few times
imports     (c) imports of SIZE stdlib modules, then they are dropped and imported again, once
dataclasses (c) 3.7+: SIZE @dataclass classes made (their methods exec'd), used and dropped
compiler    (c) 2.7 only: the `compiler` package compiles SIZE stdlib modules
phases      (e) phases A, B, C, D, A whose functions differ, gc.collect() between, SIZE rounds
minidom difflib email argparse textwrap re decimal fractions statistics csv pickle
            (e) a stdlib-heavy program of that module, SIZE rounds
"""
from __future__ import print_function

import gc
import os
import sys

PY2 = sys.version_info[0] == 2


# ---- (a) generator pipelines ------------------------------------------------
def source(seed, n):
    x = seed
    for _ in range(n):
        x = (x * 1103515245 + 12345) & 0x7FFFFFFF
        yield x


def scale(it, k):
    for v in it:
        yield v * k


def keep_odd(it):
    for v in it:
        if v & 1:
            yield v


def pairs(it):
    prev = None
    for v in it:
        if prev is not None:
            yield prev, v
        prev = v


def window_sum(it, width):
    buf = []
    for a, b in it:
        buf.append(a ^ b)
        if len(buf) > width:
            buf.pop(0)
        yield sum(buf)


def genpipe(size):
    total = 0
    for wave, n in enumerate((size, size // 3, size, size // 2, size)):
        pipes = [window_sum(pairs(keep_odd(scale(source(i + wave, 40), 3))), 4) for i in range(n)]
        # Round-robin: every pipeline's five frames stay live until the end.
        alive = pipes
        while alive:
            still = []
            for p in alive:
                try:
                    total += next(p)
                    still.append(p)
                except StopIteration:
                    pass
            alive = still[: len(still) - len(still) // 8]  # some abandoned mid-way
        del pipes, alive, still
        gc.collect()
    return total


def genexps(size):
    # Generator expressions (a code object each, made by the compiler, not
    # a def): SIZE three-deep genexp chains live at once, in waves.
    try:
        from itertools import izip as lazy_zip  # 2.7's zip is eager
    except ImportError:
        lazy_zip = zip
    total = 0
    for wave, n in enumerate((size, size // 2, size, size // 5)):
        gens = [(a * b for a, b in lazy_zip((x + 1 for x in range(i % 7, 30 + i % 7)),
                                       (y * y for y in range(30) if y % (2 + i % 3))))
                for i in range(n)]
        while gens:
            nxt = []
            for g in gens:
                for v in g:
                    total += v & 0xFF
                    nxt.append(g)
                    break
            gens = nxt[: len(nxt) - len(nxt) // 10]
        gc.collect()
    return total


# ---- (b) recursion -----------------------------------------------------------
def depth1(n):
    return 0 if n == 0 else 1 + depth1(n - 1)


def depth2(n, acc, step):
    if n == 0:
        return acc
    a = acc + step
    b = a * 2 - acc
    return depth2(n - 1, b % 1000003, step)


def depth3(n, a=1, b=2, c=3, d=4, e=5, f=6, g=7, h=8, i=9, j=10):
    if n == 0:
        return a + b + c + d + e + f + g + h + i + j
    k = (a, b, c, d, e, f, g, h, i, j)
    l = [x + n for x in k] if n % 50 == 0 else k
    return depth3(n - 1, *l) + 1


def tree(n):
    if n <= 1:
        return n
    return tree(n - 1) + tree(n - 2) if n < 12 else tree(n - 1) + 1


def mutual_a(n):
    return 0 if n <= 0 else 1 + mutual_b(n - 1)


def mutual_b(n):
    s = str(n)
    return 0 if n <= 0 else len(s) + mutual_a(n - 1)


def walk(node, depth):
    if node is None:
        return depth
    left, right, value = node
    return max(walk(left, depth + 1), walk(right, depth + 1)) + (value & 0)


def recursion(size):
    sys.setrecursionlimit(10000)
    total = 0
    chain = None
    for i in range(1500):
        chain = (chain, None, i) if i % 3 else (None, chain, i)
    for r in range(size):
        d = 200 + (r * 97) % 1800
        total += depth1(d)
        total += depth2(d // 2 + 150, r, 7)
        total += depth3(250 + (r * 31) % 600)
        total += mutual_a(d)
        total += walk(chain, 0)
        total += tree(18 + r % 3)
    return total


# A recursive-descent parser and evaluator of nested arithmetic: three
# mutually recursive parsing functions per nesting level, then recursive
# evaluation and printing of the tree, 100 to 1,300 levels deep.
def nested_source(depth, seed):
    text = str(seed % 10)
    for i in range(depth):
        op = "+-*"[(seed + i) % 3]
        text = "(%d%s%s)" % ((seed * 7 + i) % 10, op, text) if i % 2 else "(%s%s%d)" % (text, op, (seed + i) % 10)
    return text


def parse_expr(s, i):
    node, i = parse_term(s, i)
    while i < len(s) and s[i] in "+-":
        op = s[i]
        right, i = parse_term(s, i + 1)
        node = (op, node, right)
    return node, i


def parse_term(s, i):
    node, i = parse_factor(s, i)
    while i < len(s) and s[i] == "*":
        right, i = parse_factor(s, i + 1)
        node = ("*", node, right)
    return node, i


def parse_factor(s, i):
    if s[i] == "(":
        node, i = parse_expr(s, i + 1)
        return node, i + 1
    return int(s[i]), i + 1


def evaluate(node):
    if isinstance(node, int):
        return node
    op, left, right = node
    a, b = evaluate(left), evaluate(right)
    return (a + b if op == "+" else a - b if op == "-" else a * b) % 1000003


def render(node, out):
    if isinstance(node, int):
        out.append(str(node))
        return out
    out.append("(")
    render(node[1], out)
    out.append(node[0])
    render(node[2], out)
    out.append(")")
    return out


def nested_eval(size):
    sys.setrecursionlimit(10000)
    total = 0
    for r in range(size):
        src = nested_source(100 + (r * 211) % 1200, r)
        tree, _ = parse_expr(src, 0)
        total += evaluate(tree) + len("".join(render(tree, [])))
    return total


# ---- (b) methods calling peers: shallow stacks through many codes -----------
METHOD = """
    def m{m}(self, x, depth):
        {body}
        r = {total}
        if depth > 0:
            p = self.peers[(x + {m}) % len(self.peers)]
            r += getattr(p, "m%d" % ((x + depth) % 8))(x + 1, depth - 1)
        return r & 0xFFFF
"""


def methods(size):
    """Classes whose methods hold 0 to 20 locals call a peer object's
    method, up to 8 deep: a method called while it runs is a re-entry,
    whose second frame CPython's free list serves whatever its size
    (found by a newcomer's program; traces/corpus.tsv)."""
    src = []
    for c in range(60):
        src.append("class C%d(object):" % c)
        src.append("    def __init__(self, i):\n        self.i = i\n        self.peers = None")
        for m in range(8):
            n = (c * 7 + m * 3) % 21
            body = "; ".join("v%d = x + %d" % (k, k) for k in range(n)) or "pass"
            total = " + ".join("v%d" % k for k in range(n)) or "0"
            src.append(METHOD.format(m=m, body=body, total=total))
    space = {}
    exec("\n".join(src), space)
    x = [12345]

    def rand(n):
        x[0] = (x[0] * 1103515245 + 12345) & 0x7FFFFFFF
        return (x[0] >> 8) % n

    objs = [space["C%d" % c](c) for c in range(60)]
    for o in objs:
        o.peers = [objs[rand(60)] for _ in range(7)]
    total = 0
    for it in range(size):
        o = objs[rand(60)]
        total += getattr(o, "m%d" % (it % 8))(it, (0, 1, 2, 3, 5, 8)[rand(6)])
    return total


# ---- (c) compile-heavy -------------------------------------------------------
TEMPLATE = '''
def f_{i}(x, y={i}):
    {locals}
    return x + y + {sum}

class C_{i}(object):
    def m(self, a):
        return [a + k for k in range({k})]

def g_{i}(n):
    return sum(f_{i}(j) for j in range(n))

RESULT = g_{i}({k}) + C_{i}().m({i})[-1]
'''


def exec_(size):
    total = 0
    for i in range(size):
        nloc = 1 + i % 23
        src = TEMPLATE.format(i=i, k=1 + i % 7, sum=i % 11,
                              locals="; ".join("v%d = x * %d" % (j, j) for j in range(nloc)))
        code = compile(src, "<gen %d>" % i, "exec")
        ns = {}
        exec(code, ns)
        total += ns["RESULT"] + eval("f_%d(%d)" % (i, i), ns)
        del ns, code
        if i % 100 == 99:
            gc.collect()
    return total


def lambdas(size):
    total = 0
    makers = []
    for i in range(size):
        arity = 1 + i % 4
        args = ", ".join("a%d" % j for j in range(arity))
        body = " + ".join("a%d * %d" % (j, i % 13 + j) for j in range(arity))
        fn = eval("lambda %s: %s" % (args, body))
        total += fn(*range(arity)) + fn(*range(1, arity + 1))

        def make(k, fn=fn, arity=arity):
            return lambda *xs: fn(*xs[:arity]) + k
        g = make(i)
        total += g(*range(5))
        makers.append(g)
        if len(makers) > 50:
            makers = makers[25:]
    return total


IMPORTS = """abc aifc argparse ast asynchat asyncore base64 bdb binhex bisect calendar cgi
cgitb chunk cmd code codecs codeop collections colorsys compileall contextlib copy csv
decimal difflib dis doctest email email.parser email.mime.text filecmp fileinput fnmatch
formatter fractions ftplib functools getopt getpass gettext glob gzip hashlib heapq hmac
imaplib imghdr inspect io json keyword linecache locale logging logging.handlers mailbox
mailcap mimetypes modulefinder netrc nntplib numbers opcode optparse pdb pickle pickletools
pipes pkgutil platform plistlib poplib pprint profile pstats py_compile pyclbr pydoc quopri
random re rlcompleter sched shelve shlex shutil smtplib sndhdr socket stat string stringprep
struct subprocess sunau symtable tabnanny tarfile telnetlib tempfile textwrap threading
timeit token tokenize trace traceback tty types unittest uu uuid warnings wave weakref
webbrowser xdrlib xml.dom.minidom xml.etree.ElementTree xml.sax zipfile""".split()


def imports(size):
    names = [n for n in IMPORTS][:size]
    before = set(sys.modules)
    for round_ in range(2):
        for n in names:
            try:
                __import__(n)
            except ImportError:
                pass
        for n in sorted(set(sys.modules) - before):
            del sys.modules[n]
        gc.collect()
    return len(names)


def dataclasses_(size):
    # 3.7+: @dataclass writes __init__, __repr__, __eq__, the order methods
    # (and __hash__, __setattr__ when frozen) as source and exec's them.
    from dataclasses import dataclass, field, asdict, replace
    total = 0
    for i in range(size):
        ns = {"dataclass": dataclass, "field": field}
        fields = "\n".join("    f%d: int = %d" % (j, j) for j in range(1 + i % 9))
        exec("@dataclass(order=True, frozen=%s)\nclass D%d:\n%s\n    tags: list = field(default_factory=list)\n"
             % (i % 2 == 1, i, fields), ns)
        cls = ns["D%d" % i]
        a, b = cls(), cls(f0=i)
        total += (a < b) + (a == b) + len(repr(b)) + len(asdict(b)) + replace(a, f0=3).f0
        del ns, cls, a, b
        if i % 50 == 49:
            gc.collect()
    return total


def compiler_(size):
    import compiler  # 2.7 only
    libdir = os.path.dirname(os.__file__)
    files = sorted(f for f in os.listdir(libdir) if f.endswith(".py"))[:size]
    total = 0
    for f in files:
        path = os.path.join(libdir, f)
        try:
            code = compiler.compile(open(path).read(), path, "exec")
        except SyntaxError:
            continue
        total += len(code.co_consts)
        gc.collect(0)
    return total


# ---- (e) phases --------------------------------------------------------------
PHASE_SRC = '''
def p{ph}_{i}(xs, k={i}):
    {pad}
    out = []
    for x in xs:
        if x % {m} == 0:
            out.append(p{ph}_{j}_helper(x, k))
        else:
            out.append(x + k)
    return out

def p{ph}_{j}_helper(x, k):
    return (x * k) % 9973 + {i}
'''


def make_phase(ph, n):
    ns = {}
    for i in range(n):
        pad = "; ".join("t%d = len(xs) + %d" % (j, j) for j in range(1 + (i * 7 + len(ph)) % 17))
        exec(compile(PHASE_SRC.format(ph=ph, i=i, j=i, m=2 + i % 5, pad=pad),
                     "<phase %s %d>" % (ph, i), "exec"), ns)
    return [ns["p%s_%d" % (ph, i)] for i in range(n)]


def phases(size):
    funcs = {ph: make_phase(ph, 40 + 15 * k) for k, ph in enumerate("ABCD")}
    total = 0
    for ph in "ABCDA":
        fs = funcs[ph]
        for r in range(size):
            xs = list(range(r % 7, r % 7 + 12))
            for f in fs:
                total += len(f(xs))
            if r % 10 == 9:
                gc.collect(0)
        gc.collect()
        if ph == "C":
            del funcs["B"]  # phase B's codes die
            gc.collect()
    return total


# ---- (e) stdlib-heavy --------------------------------------------------------
WORDS = ("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron "
         "pi rho sigma tau upsilon phi chi psi omega").split()


def text(n, seed=1):
    out = []
    x = seed
    for i in range(n):
        x = (x * 69069 + 1) & 0xFFFFFFFF
        out.append(WORDS[x % len(WORDS)])
        if x % 11 == 0:
            out.append("\n")
    return " ".join(out)


def minidom(size):
    from xml.dom import minidom as md
    total = 0
    for r in range(size):
        doc = md.Document()
        root = doc.createElement("root")
        doc.appendChild(root)
        for i in range(30):
            e = doc.createElement("item")
            e.setAttribute("id", str(i))
            e.appendChild(doc.createTextNode(WORDS[(i + r) % len(WORDS)]))
            root.appendChild(e)
        xml = doc.toprettyxml()
        doc2 = md.parseString(xml)
        total += len(doc2.getElementsByTagName("item"))
        doc.unlink(); doc2.unlink()
    return total


def difflib_(size):
    import difflib
    total = 0
    for r in range(size):
        a = text(120, r).splitlines()
        b = text(120, r + 1).splitlines() + a[:3]
        total += len(list(difflib.unified_diff(a, b, lineterm="")))
        total += int(difflib.SequenceMatcher(None, " ".join(a), " ".join(b)).ratio() * 100)
        total += len(difflib.get_close_matches(WORDS[r % 24], WORDS + a[:5]))
    return total


def email_(size):
    from email.mime.multipart import MIMEMultipart
    from email.mime.text import MIMEText
    import email
    total = 0
    for r in range(size):
        m = MIMEMultipart()
        m["Subject"] = "round %d %s" % (r, WORDS[r % 24])
        m["From"] = "a%d@example.org" % r
        m["To"] = ", ".join("b%d@example.org" % i for i in range(5))
        for i in range(3):
            m.attach(MIMEText(text(40, r + i), "plain"))
        raw = m.as_string()
        back = email.message_from_string(raw)
        total += sum(len(p.get_payload()) for p in back.walk() if not p.is_multipart())
    return total


def argparse_(size):
    import argparse
    total = 0
    for r in range(size):
        p = argparse.ArgumentParser(prog="p%d" % r, description=text(20, r))
        sub = p.add_subparsers(dest="cmd")
        for i in range(6):
            s = sub.add_parser("c%d" % i, help=WORDS[i])
            s.add_argument("--n%d" % i, type=int, default=i)
            s.add_argument("files", nargs="*")
            s.add_argument("-v", action="count", default=0)
        p.add_argument("--flag", action="store_true")
        ns = p.parse_args(["--flag", "c%d" % (r % 6), "--n%d" % (r % 6), str(r), "-vv", "x", "y"])
        total += len(vars(ns)) + len(p.format_help())
    return total


def textwrap_(size):
    import textwrap
    total = 0
    for r in range(size):
        t = text(150, r)
        for w in (30, 50, 70):
            total += len(textwrap.wrap(t, w))
        total += len(textwrap.fill(t, 40, initial_indent="> ", subsequent_indent="  "))
        total += len(textwrap.dedent(textwrap.indent(t, "    ") if hasattr(textwrap, "indent") else t))
    return total


def re_(size):
    import re
    total = 0
    pats = [r"(\w+)\s+(\w+)", r"(?P<w>[aeiou]\w*)", r"\b(\w)(\w*)\1\b", r"(a|b|g)+(mma|ta)",
            r"^\s*(\w+)(?:\s+\w+){2,}$", r"(?i)SIGMA|PHI|x{2,}"]
    for r in range(size):
        re.purge()  # compile again, in sre_compile/sre_parse's Python code
        t = text(60, r)
        for p in pats:
            rx = re.compile(p, re.M)
            total += len(rx.findall(t)) + len(rx.sub(lambda m: m.group(0)[::-1], t))
            total += sum(1 for _ in rx.finditer(t))
    return total


def decimal_(size):
    if PY2:
        import decimal as D  # pure Python in 2.7
    else:
        import _pydecimal as D
    D.getcontext().prec = 40
    total = D.Decimal(0)
    for r in range(size):
        x = D.Decimal(r + 1) / D.Decimal(7)
        total += x.sqrt() + x.ln() + x.exp() / D.Decimal(10 ** 6) + x.quantize(D.Decimal("0.001"))
        total += D.Decimal(str(1.0 / (r + 3))).normalize()
    return int(total)


def fractions_(size):
    from fractions import Fraction
    total = Fraction(0)
    for r in range(1, size + 1):
        f = Fraction(r, r + 3) + Fraction(1, r * 7 + 1)
        total += f * f - Fraction(r % 5, 9)
        total = total.limit_denominator(10 ** 9)
        total += Fraction("%d/%d" % (r, r + 11)) + Fraction(str(r / 8.0))
    return int(total)


def statistics_(size):
    import statistics
    total = 0
    for r in range(size):
        data = [((i * 7919 + r) % 101) / 3.0 for i in range(40)]
        total += statistics.mean(data) + statistics.median(data) + statistics.stdev(data)
        total += statistics.pvariance(data) + statistics.mode([int(d) for d in data])
        total += statistics.harmonic_mean([d + 1 for d in data])
    return int(total)


def csv_(size):
    import csv
    import io
    total = 0
    for r in range(size):
        buf = io.BytesIO() if PY2 else io.StringIO()
        w = csv.DictWriter(buf, fieldnames=["a", "b", "c"])
        w.writeheader()
        for i in range(50):
            w.writerow({"a": i, "b": WORDS[(i + r) % 24], "c": "x,y" if i % 3 else "q\"z"})
        buf.seek(0)
        total += sum(len(row) for row in csv.DictReader(buf))
    return total


def pickle_(size):
    import pickle
    P, U = pickle._Pickler if not PY2 else pickle.Pickler, pickle._Unpickler if not PY2 else pickle.Unpickler
    import io
    total = 0
    for r in range(size):
        obj = {"k%d" % i: [i, str(i), (i, float(i)), {"n": None, "t": True}] for i in range(20 + r % 10)}
        buf = io.BytesIO()
        P(buf, 2).dump(obj)
        buf.seek(0)
        total += len(U(buf).load())
    return total


MODES = {"genpipe": genpipe, "genexps": genexps, "dataclasses": dataclasses_, "recursion": recursion, "nested_eval": nested_eval, "methods": methods,
         "exec": exec_, "lambdas": lambdas,
         "imports": imports, "compiler": compiler_, "phases": phases, "minidom": minidom,
         "difflib": difflib_, "email": email_, "argparse": argparse_, "textwrap": textwrap_,
         "re": re_, "decimal": decimal_, "fractions": fractions_, "statistics": statistics_,
         "csv": csv_, "pickle": pickle_}

if __name__ == "__main__":
    print(MODES[sys.argv[1]](int(sys.argv[2])))
