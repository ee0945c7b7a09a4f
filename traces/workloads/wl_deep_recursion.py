"""Deep recursion through several recursive functions of different frame
sizes (a frame's size grows with its locals and its value stack), each
going hundreds to thousands of frames deep, interleaved so that the deep
stacks of one function are released while another's are built.

    python wl_deep_recursion.py ROUNDS
"""
import sys

sys.setrecursionlimit(20000)


def count_down(n):
    # The smallest frame: one argument, a short stack.
    if n == 0:
        return 0
    return 1 + count_down(n - 1)


def walk_list(node, acc):
    # A linked list walked recursively: two arguments, three locals.
    if node is None:
        return acc
    value, rest = node
    total = acc + value
    return walk_list(rest, total)


def nested_sum(data, depth, a=0, b=1, c=2, d=3, e=4, f=5, g=6, h=7):
    # A large frame: many locals, held all the way down.
    i, j, k, l, m, n, o, p = a + 1, b + 1, c + 1, d + 1, e + 1, f + 1, g + 1, h + 1
    q = (i + j + k + l + m + n + o + p) % 7
    if depth == 0:
        return q + len(data)
    r = nested_sum(data, depth - 1, i, j, k, l, m, n, o, p)
    return q + r


def parse(tokens, pos):
    # A recursive-descent parser of nested parentheses: medium frame,
    # recursion as deep as the nesting.
    items = []
    while pos < len(tokens):
        t = tokens[pos]
        if t == "(":
            sub, pos = parse(tokens, pos + 1)
            items.append(sub)
        elif t == ")":
            return items, pos + 1
        else:
            items.append(t)
            pos += 1
    return items, pos


def depth_of(tree):
    # Measures what parse built: recursion over the result.
    if not isinstance(tree, list):
        return 0
    best = 0
    for t in tree:
        d = depth_of(t)
        if d > best:
            best = d
    return best + 1


def ping(n, trail):
    # Mutual recursion: two codes alternate all the way down.
    if n == 0:
        return len(trail)
    return pong(n - 1, trail + (n,) if n % 97 == 0 else trail)


def pong(n, trail):
    if n == 0:
        return -len(trail)
    return ping(n - 1, trail)


def tree_sum(lo, hi):
    # Shallow but wide: log-depth recursion with many calls.
    if hi - lo <= 1:
        return lo
    mid = (lo + hi) // 2
    return tree_sum(lo, mid) + tree_sum(mid, hi)


def run(rounds):
    out = []
    linked = None
    for v in range(1500):
        linked = (v, linked)
    for r in range(rounds):
        out.append(count_down(2500 + 37 * r))
        out.append(walk_list(linked, r))
        out.append(nested_sum("x" * r, 800 + 11 * r))
        tokens = list("(" * (400 + r) + "a" + ")" * (400 + r)) + ["(", "b", "(", "c", ")", ")"]
        tree, _ = parse(tokens, 0)
        out.append(depth_of(tree))
        out.append(ping(1800 + r, ()))
        out.append(tree_sum(0, 2000))
    return out


if __name__ == "__main__":
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    result = run(rounds)
    print(len(result), sum(result))
