"""Reads a document in a child process with CPU, wall-clock and memory limits.

A malicious or broken PDF can make a parser loop, allocate gigabytes or crash: in a
child with RLIMIT_AS / RLIMIT_CPU and a wall-clock timeout, the worker only ever sees a
clean outcome — the pages, or DocumentRejected with a reason — and goes on with the next
document. The document goes to the child through a private temporary file; the pages
come back as JSON on stdout.

    python -m integrations.pdf.sandbox FILE     (the child's side)
"""

import json
import os
import resource
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from integrations.pdf import limits
from sfa.purchase_orders.document import DocumentRejected, PageWords

REJECTED_EXIT = 3


def _limit_child(cpu_s: int, memory: int):
    def apply():
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_s, cpu_s + 5))
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        os.setsid()  # its own process group: a timeout kills tesseract too

    return apply


def read_sandboxed(
    content: bytes,
    *,
    cpu_s: int = limits.MAX_CPU_SECONDS,
    wall_s: int = limits.MAX_WALL_SECONDS,
    memory: int = limits.MAX_MEMORY_BYTES,
) -> list[PageWords]:
    with tempfile.TemporaryDirectory(prefix="sfa-po-") as tmp:
        path = Path(tmp) / "document"
        path.write_bytes(content)
        process = subprocess.Popen(
            [sys.executable, "-m", "integrations.pdf.sandbox", str(path)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            preexec_fn=_limit_child(cpu_s, memory),  # no threads run in this process yet
            env={**os.environ, "OMP_THREAD_LIMIT": "1"},
        )
        try:
            out, err = process.communicate(timeout=wall_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise DocumentRejected(
                "timeout", f"reading the document took longer than {wall_s} s"
            ) from None
    return _outcome(process.returncode, out, err, cpu_s)


def _outcome(code: int, out: bytes, err: bytes, cpu_s: int) -> list[PageWords]:
    if code == 0:
        return [PageWords.of(p) for p in json.loads(out)]
    if code == REJECTED_EXIT:
        data = json.loads(out)
        raise DocumentRejected(data["code"], data["reason"])
    text = err.decode(errors="replace")
    if code in (-signal.SIGXCPU, -signal.SIGKILL) and "MemoryError" not in text:
        raise DocumentRejected("timeout", f"reading the document used more than {cpu_s} s of CPU")
    if "MemoryError" in text or "Cannot allocate memory" in text or "bad_alloc" in text:
        raise DocumentRejected(
            "out_of_memory", "reading the document needed more memory than a document may use"
        )
    raise DocumentRejected("corrupt", f"the document could not be read (reader exit {code})")


def _child(path: str) -> int:
    from integrations.pdf.pages import read_document

    try:
        pages = read_document(Path(path).read_bytes())
    except DocumentRejected as exc:
        sys.stdout.write(json.dumps({"code": exc.code, "reason": exc.reason}))
        return REJECTED_EXIT
    except MemoryError:
        sys.stderr.write("MemoryError\n")
        return 4
    sys.stdout.write(json.dumps([p.as_dict() for p in pages]))
    return 0


if __name__ == "__main__":
    sys.exit(_child(sys.argv[1]))
