# The warm Python of a microVM guest (host/guest-init/src/warm.rs explains): started
# by init as root before the guest is saved, it becomes the one job of a restored copy, so the
# interpreter's start-up (most of a Python job's time under TCG) is paid once per snapshot, not
# once per job. It must leave the job where `python3 /job/code` would: same argv, sys.path,
# environment, uid, working directory, stdin, exit status and tracebacks.
#
# argv: the job's uid. stdin: init's control pipe; stdout and stderr: the job's output pipes.
import os
import sys
from importlib.machinery import SourceFileLoader

# Written unbuffered, and read by init before it saves the guest: nothing else is ever written
# before the job runs, so no byte of this process reaches a job's output.
os.write(1, b"R")
line = b""
while not line.endswith(b"\n"):
    chunk = os.read(0, 64)
    if not chunk:
        os._exit(70)
    line += chunk

# From here on, this is one restored copy, with the job's folder mounted and the guest's
# random pool reseeded by init.
job_uid = int(sys.argv[1])
input_fd = os.open("/job/input", os.O_RDONLY)
os.dup2(input_fd, 0)
os.close(input_fd)
os.setgroups([])
os.setgid(job_uid)
os.setuid(job_uid)
os.chdir("/tmp")
# Only the warm start needed these (glibc's locale and conversion data from the copies in /rt).
for name in ("LOCPATH", "GCONV_PATH"):
    os.environ.pop(name, None)
# Seeded from the pool before the snapshot, so the same in every copy: seeded afresh.
if "random" in sys.modules:
    sys.modules["random"].seed()
sys.argv = ["/job/code"]
sys.orig_argv = [sys.executable, "/job/code"]
sys.path[0] = "/job"


def job_traceback(kind, value, tb):
    # This file's frame comes before the job's own: left out, as it is not in a traceback of
    # `python3 /job/code`.
    while tb is not None and tb.tb_frame.f_code.co_filename != "/job/code":
        tb = tb.tb_next
    # The default hook prints the exception's own traceback, not its argument.
    sys.__excepthook__(kind, value.with_traceback(tb), tb)


sys.excepthook = job_traceback
# As Python runs a script: the file's bytes compiled (a coding cookie or BOM honoured) and run
# in a fresh `__main__` holding what a script's `__main__` holds, nothing of this file's. Not
# `runpy.run_path`: importing pkgutil over 9p and its importer lookups took about 0.2 s per job
# under TCG, more than everything else between GO and the job's first output.
with open("/job/code", "rb") as source:
    job = compile(source.read(), "/job/code", "exec", dont_inherit=True)
main = type(sys)("__main__")
main.__dict__.update(
    __annotations__={},
    __builtins__=__builtins__,
    __cached__=None,
    __file__="/job/code",
    __loader__=SourceFileLoader("__main__", "/job/code"),
    __package__=None,
    __spec__=None,
)
sys.modules["__main__"] = main
del line, chunk, input_fd, name, job_uid, source, SourceFileLoader
exec(job, main.__dict__)
