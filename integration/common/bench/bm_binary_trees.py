"""binary-trees: build and check complete trees by recursion (the shootout
program's shape, written here from its description)."""
import pyperf


def make(depth):
    if depth == 0:
        return (None, None)
    depth -= 1
    return (make(depth), make(depth))


def check(node):
    left, right = node
    if left is None:
        return 1
    return 1 + check(left) + check(right)


def run(max_depth):
    total = check(make(max_depth + 1))
    long_lived = make(max_depth)
    for depth in range(4, max_depth + 1, 2):
        for _ in range(2 ** (max_depth - depth + 4)):
            total += check(make(depth))
    return total + check(long_lived)


if __name__ == "__main__":
    pyperf.Runner().bench_func("binary_trees", run, 12)
