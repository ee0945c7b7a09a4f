# Run by the smoke stage with ZF_CPY_FINAL_STATS=1 set for this process
# only (Python 2.7 and 3.9): the processes it starts must not print the
# pool's report, so a child's stderr stays what the program expects.
# Exit status 0 when they are silent; this process's own report (on its
# stderr, at exit) is checked by the caller.
import os
import subprocess
import sys

failures = []

# The setting is not passed on: not in os.environ, so env=os.environ
# copies do not carry it either.
if "ZF_CPY_FINAL_STATS" in os.environ:
    failures.append("ZF_CPY_FINAL_STATS is still in os.environ")

# A child started by exec, with the inherited environment and with a copy.
for env in (None, dict(os.environ)):
    child = subprocess.Popen([sys.executable, "-c", "pass"], stderr=subprocess.PIPE, env=env)
    err = child.communicate()[1]
    if child.returncode != 0 or err:
        failures.append("child (env=%s): exit %d, stderr %r" % (
            "inherited" if env is None else "copy", child.returncode, err[:200]))

# A fork that finalizes as a normal exit does (same memory, another pid).
r, w = os.pipe()
pid = os.fork()
if pid == 0:
    os.close(r)
    os.dup2(w, 2)
    sys.exit(0)
os.close(w)
_, status = os.waitpid(pid, 0)
err = os.read(r, 1 << 16)
os.close(r)
if status != 0 or err:
    failures.append("fork: status %d, stderr %r" % (status, err[:200]))

for f in failures:
    sys.stdout.write("FAIL: %s\n" % f)
sys.exit(1 if failures else 0)
