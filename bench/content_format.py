"""Content format benchmark: what compression and encryption cost and save, side by side with both off, in one
run. The same content is stored into a fresh container of a real Azurite and read back (hash-verified) through
core's BlobContentStore, once per format:

    none                  as it came (sha256/ names)
    zstd                  compressed only
    zstd + AES-256-GCM    compressed, then encrypted (the local key provider; Key Vault would add one unwrap per
                          key per process, not per item)

Corpora: mail (the simulator's seeded MIME, duplicates removed, so dedup does not flatter a ratio), files (the
simulator's generated file bytes with its seeded size mix and two 6 MiB files: random bytes, as docx, pdf, png and
jpg are, being compressed already), and text files (this repository's .py and .md files, as plain-text documents are).
Each corpus and format is measured --repeat times (median); a codec row measures the format's CPU alone (encode +
decode in memory, no storage).

    python -m bench.content_format [--messages 60] [--files 30] [--repeat 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from bench.common import MB, ROOT, machine_facts, peak_rss_bytes

FORMATS = ("none", "zstd", "zstd + AES-256-GCM")


def mail_corpus(messages: int) -> list[bytes]:
    from graphsim.mail.seed import seed_tenant

    tenant = seed_tenant(1, 3, messages)
    mimes = {m.sha256: m.mime for u in tenant.users.values() if u.mailbox for m in u.mailbox.messages.values()}
    return list(mimes.values())


def file_corpus(files: int) -> list[bytes]:
    import random

    from graphsim.drives.content import Content

    rng = random.Random("bench-files")
    sizes = [rng.choice([0, 1, 3_000, 40_000, 150_000, 700_000]) if k % 5 == 4 else rng.randint(200, 60_000)
             for k in range(files)]  # fmt: skip
    seeded = [b"".join(Content(size, key=f"bench:{k}").iter_range()) if size else b"" for k, size in enumerate(sizes)]
    # two files of more than one segment; random bytes (the simulator's large files repeat their 1 MiB base, which
    # zstd would find, and real large files, video, archives, images, do not compress)
    return seeded + [random.Random(f"big:{k}").randbytes(6 << 20) for k in range(2)]


def text_corpus(limit: int = 60) -> list[bytes]:
    paths = sorted(
        p for d in ("core", "graphsim", "api", "docs") for p in (ROOT / d).rglob("*") if p.suffix in {".py", ".md"}
    )
    return [p.read_bytes() for p in paths[:limit]]


def content_store(connection_string: str, name: str, key_file: Path):
    from azure.storage.blob import BlobServiceClient

    from core.keys.keyring import KeyRing
    from core.keys.local_provider import LocalKeyFile
    from core.storage.content_store import BlobContentStore, ContentFormat

    container = BlobServiceClient.from_connection_string(connection_string).get_container_client(
        f"bench{uuid.uuid4().hex[:12]}"
    )
    container.create_container()
    if name == "none":
        return BlobContentStore(container), container
    if name == "zstd":
        return BlobContentStore(container, ContentFormat(compress=True)), container
    keys = KeyRing(container, LocalKeyFile(key_file))
    return BlobContentStore(container, ContentFormat(compress=True, encrypt=True, keys=keys)), container


def measure_store(connection_string: str, fmt: str, corpus: list[bytes], key_file: Path) -> dict[str, Any]:
    store, container = content_store(connection_string, fmt, key_file)
    try:
        if store.keys is not None:  # the keys made once, as a process's first put makes or unwraps them
            store.keys.current_data_key()
            store.keys.naming_key()
        started = time.perf_counter()
        shas = [store.put_bytes(data).sha256 for data in corpus]
        put_s = time.perf_counter() - started
        started = time.perf_counter()
        read = sum(len(store.read(sha)) for sha in shas)
        read_s = time.perf_counter() - started
        counts = store.counts()
        assert read == sum(len(d) for d in corpus)
        return {"put_s": put_s, "read_s": read_s, "stored_bytes": counts["stored_bytes"], "blobs": counts["blobs"]}
    finally:
        container.delete_container()


def measure_codec(fmt: str, corpus: list[bytes]) -> float:
    """Seconds to encode and decode the corpus in memory (the format's CPU alone)."""
    import hashlib

    from core.storage.blob_format import decode, encode

    key = ("dk-000000", bytes(32))
    started = time.perf_counter()
    for data in corpus:
        if fmt == "none":
            hashlib.sha256(data).hexdigest()
            continue
        sha = hashlib.sha256(data).hexdigest()
        sealed = key if fmt != "zstd" else None
        blob = b"".join(encode([data], sha, True, sealed))
        out = b"".join(decode([blob], sha, lambda _id: key[1]))
        assert hashlib.sha256(out).hexdigest() == sha
    return time.perf_counter() - started


def run_bench(args: argparse.Namespace) -> dict[str, Any]:
    from devenv.azurite import start_azurite

    started = time.perf_counter()
    corpora = {"mail": mail_corpus(args.messages), "files": file_corpus(args.files), "text files": text_corpus()}
    report: dict[str, Any] = {"machine": machine_facts(), "repeat": args.repeat, "rows": []}
    with start_azurite() as azurite, tempfile.TemporaryDirectory(prefix="m365bench-keys-") as tmp:
        for corpus_name, corpus in corpora.items():
            logical = sum(len(d) for d in corpus)
            measured: dict[str, list[dict[str, Any]]] = {fmt: [] for fmt in FORMATS}
            for rep in range(args.repeat):  # interleaved, each first in turn: a slow moment or a warm-up hits all
                for fmt in FORMATS[rep % 3 :] + FORMATS[: rep % 3]:
                    measured[fmt].append(measure_store(azurite.connection_string, fmt, corpus, Path(tmp) / "k.json"))
            for fmt in FORMATS:
                runs = measured[fmt]
                codec = statistics.median(measure_codec(fmt, corpus) for _ in range(args.repeat))
                put_s = statistics.median(r["put_s"] for r in runs)
                read_s = statistics.median(r["read_s"] for r in runs)
                report["rows"].append({
                    "corpus": corpus_name, "format": fmt, "items": len(corpus), "logical_bytes": logical,
                    "stored_bytes": runs[0]["stored_bytes"], "ratio": runs[0]["stored_bytes"] / max(logical, 1),
                    "put_items_s": len(corpus) / put_s, "put_mb_s": logical / MB / put_s,
                    "read_items_s": len(corpus) / read_s, "read_mb_s": logical / MB / read_s,
                    "codec_mb_s": logical / MB / codec if codec else None,
                })  # fmt: skip
    report["bench_s"] = time.perf_counter() - started
    return report


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    lines = [
        f"content format benchmark: each corpus stored and read back through BlobContentStore into Azurite, per "
        f"format; median of {report['repeat']} runs",
        f"machine: {m['cpu_count']} CPUs ({m['cpus_usable']} usable), {m['python']}, {m['platform']}",
        f"peak RSS of this process (VmHWM; every put and read runs in it): {peak_rss_bytes() / MB:.0f} MB",
        "",
    ]
    header = (f"{'corpus':<12}{'format':<21}{'items':>6}{'MB':>8}{'stored/logical':>16}{'put items/s':>13}"
              f"{'put MB/s':>10}{'read items/s':>14}{'read MB/s':>11}{'codec MB/s':>12}")  # fmt: skip
    lines += [header, "-" * len(header)]
    base: dict[str, dict[str, Any]] = {}
    for r in report["rows"]:
        base.setdefault(r["corpus"], r)
        codec = f"{r['codec_mb_s']:.0f}" if r["format"] != "none" and r["codec_mb_s"] else "-"
        lines.append(
            f"{r['corpus']:<12}{r['format']:<21}{r['items']:>6}{r['logical_bytes'] / MB:>8.2f}{r['ratio']:>16.3f}"
            f"{r['put_items_s']:>13.0f}{r['put_mb_s']:>10.1f}{r['read_items_s']:>14.0f}{r['read_mb_s']:>11.1f}{codec:>12}"
        )
    lines.append("")
    summary = []
    for r in report["rows"]:
        if r["format"] == FORMATS[-1]:
            b = base[r["corpus"]]
            summary.append(
                f"{r['corpus']} stored/logical {r['ratio']:.2f}, put {r['put_items_s'] / b['put_items_s']:.2f}x and "
                f"read {r['read_items_s'] / b['read_items_s']:.2f}x the items/s of none"
            )
    lines.append(f"SUMMARY zstd + AES-256-GCM vs none: {'; '.join(summary)}; whole bench {report['bench_s']:.1f} s")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.content_format", description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=60, help="messages per mailbox (3 mailboxes)")
    parser.add_argument("--files", type=int, default=30, help="files of the seeded size mix (plus two of 6 MiB)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.messages < 1 or args.files < 0:
        parser.error("--repeat and --messages must be >= 1, --files >= 0")
    report = run_bench(args)
    print(json.dumps(report, indent=2) if args.json else render(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
